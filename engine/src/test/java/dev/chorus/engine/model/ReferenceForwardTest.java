package dev.chorus.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** TinyStories-656K against the independent fp32 reference in ../shared/models/README.md. */
class ReferenceForwardTest {
    static final int[] BOS_PROMPT = {1};
    static final int[] BOS_EXPECTED = {147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628,
            499, 826, 872, 921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425, 1939, 122, 1924, 1171, 94, 303, 328, 229, 521, 776,
            115, 1139, 312, 447, 1456, 319, 115, 133, 114, 100, 167, 753, 1665, 361, 303, 1900, 319, 467, 730, 717, 532, 856};
    static final int[] KEY_PROMPT = {1, 80, 388, 489, 1169, 432, 77};
    static final int[] KEY_EXPECTED = {891, 1607, 140, 645, 407, 350, 119, 1512, 594, 1846, 87, 196, 793, 1417, 140, 645, 407, 350,
            119, 1512, 594, 1846, 87, 196, 793, 1613, 645, 407, 350, 1826, 645, 1506, 108, 500, 72, 140, 1777, 252, 1777, 192, 1379, 559,
            1057, 1684, 1846, 87, 196, 793, 660, 1097, 140, 645, 731, 231, 292, 835, 612, 748, 753, 407, 350, 119, 1613, 1097};

    static NDManager root;
    static LlamaModel model;

    @BeforeAll
    static void load() {
        root = NDManager.newBaseManager();
        model = new LlamaModel(LlamaWeights.upload(HfCheckpoint.read(TestModels.tinyStories656k()), root));
    }

    @AfterAll
    static void close() {
        root.close();
    }

    /** Greedy decoding of each prompt alone: prefill in one pass, then one token per step. */
    static int[] greedy(int[] prompt, int steps) {
        try (KvCache cache = model.newCache(1, 512)) {
            int[] out = new int[steps];
            int position = 0;
            int[] input = prompt;
            for (int i = 0; i < steps; i++) {
                try (NDManager step = root.newSubManager()) {
                    NDArray logits = model.forward(step, cache, new int[] {0}, new int[] {position}, new int[][] {input}, false);
                    out[i] = (int) logits.argMax(-1).toLongArray()[0];
                }
                position += input.length;
                input = new int[] {out[i]};
            }
            return out;
        }
    }

    @Test
    void greedyIdsMatchReferenceForBosPrompt() {
        assertArrayEquals(BOS_EXPECTED, greedy(BOS_PROMPT, 64));
    }

    @Test
    void greedyIdsMatchReferenceForKeyPrompt() {
        assertArrayEquals(KEY_EXPECTED, greedy(KEY_PROMPT, 64));
    }

    @Test
    void rowsInScatteredSlotsAtDifferentPositionsDecodeLikeAlone() {
        // Rows in slots 3, 0, 2 (not consecutive: the gather path) and 1..3 (consecutive: the view path).
        int[][] prompts = {KEY_PROMPT, BOS_PROMPT, {1, 80, 388}};
        int[][] scatteredSlots = {{3, 0, 2}, {1, 2, 3}};
        for (int[] slots : scatteredSlots) {
            try (KvCache cache = model.newCache(4, 128)) {
                int[] positions = new int[3];
                int[][] next = new int[3][];
                for (int b = 0; b < 3; b++) {
                    try (NDManager step = root.newSubManager()) {
                        NDArray logits = model.forward(step, cache, new int[] {slots[b]}, new int[] {0}, new int[][] {prompts[b]}, false);
                        next[b] = new int[] {(int) logits.argMax(-1).toLongArray()[0]};
                    }
                    positions[b] = prompts[b].length;
                }
                for (int i = 0; i < 20; i++) {
                    try (NDManager step = root.newSubManager()) {
                        long[] ids = model.forward(step, cache, slots, positions.clone(), next, false).argMax(-1).toLongArray();
                        for (int b = 0; b < 3; b++) {
                            int[] expected = greedy(prompts[b], i + 2);
                            assertEquals(expected[i + 1], (int) ids[b], "row " + b + " step " + i + " slots " + Arrays.toString(slots));
                            next[b] = new int[] {(int) ids[b]};
                            positions[b]++;
                        }
                    }
                }
            }
        }
    }

    @Test
    void firstStepTopFiveLogitsMatchReference() {
        assertTopFive(BOS_PROMPT, new int[] {147, 429, 1166, 299, 875}, new float[] {14.7817f, 12.9551f, 10.1302f, 9.9054f, 9.8035f});
        assertTopFive(KEY_PROMPT, new int[] {891, 660, 140, 885, 759}, new float[] {13.9088f, 13.0127f, 12.8612f, 12.6651f, 12.5822f});
    }

    private static void assertTopFive(int[] prompt, int[] ids, float[] logits) {
        try (KvCache cache = model.newCache(1, 64); NDManager step = root.newSubManager()) {
            float[] all = model.forward(step, cache, new int[] {0}, new int[] {0}, new int[][] {prompt}, false).toFloatArray();
            Integer[] order = new Integer[all.length];
            Arrays.setAll(order, i -> i);
            Arrays.sort(order, (a, b) -> Float.compare(all[b], all[a]));
            for (int i = 0; i < 5; i++) {
                assertEquals(ids[i], order[i], "rank " + i + " id");
                assertEquals(logits[i], all[ids[i]], 1e-3, "logit of id " + ids[i]);
            }
        }
    }
}
