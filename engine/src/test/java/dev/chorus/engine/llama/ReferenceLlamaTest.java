package dev.chorus.engine.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import org.junit.jupiter.api.Test;

/** The plain-Java reference forward against the DJL forward and the README's reference logits. */
class ReferenceLlamaTest {
    static final int[] PROMPT = {1, 80, 388, 489, 432, 77, 140, 350, 119, 100, 200}; // valid in both vocabularies (512 and 2048)

    @Test
    void referenceEqualsDjlForwardOnBothCheckpointFormats() {
        for (DenseParameters p : new DenseParameters[] {HfCheckpoint.read(TestModels.tinyStories656k()),
                Llama2cCheckpoint.read(TestModels.stories260k())}) {
            float[][] reference = new ReferenceLlama(p).forward(PROMPT);
            float[] djl;
            try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(p, root));
                    KvCache cache = model.newCache(1, 16); NDManager step = root.newSubManager()) {
                djl = model.forward(step, cache, new int[] {0}, new int[] {0}, new int[][] {PROMPT}, true).toFloatArray();
            }
            int vocab = p.config().vocabSize();
            double max = 0;
            for (int t = 0; t < PROMPT.length; t++) {
                for (int v = 0; v < vocab; v++) {
                    max = Math.max(max, Math.abs(reference[t][v] - djl[t * vocab + v]));
                }
            }
            assertTrue(max <= 1e-4, p.config().ropeStyle() + ": max |reference − DJL| = " + max);
        }
    }

    /**
     * The cached path against the reference: two sequences in non-adjacent slots, prefilled apart,
     * then advanced together two tokens per row, then one, from different positions (the grouped
     * query heads, the causal mask and the cache gather all take part); every logit within 1e-4.
     */
    @Test
    void cachedStepsOfRowsAtDifferentPositionsEqualTheReference() {
        int[] other = {1, 200, 100, 119, 350, 140, 77, 432, 489, 388, 80};
        for (DenseParameters p : new DenseParameters[] {HfCheckpoint.read(TestModels.tinyStories656k()),
                Llama2cCheckpoint.read(TestModels.stories260k())}) {
            float[][][] reference = {new ReferenceLlama(p).forward(PROMPT), new ReferenceLlama(p).forward(other)};
            int[][] sequences = {PROMPT, other};
            int[] slots = {2, 0};
            int[] done = {3, 5}; // prefill lengths
            double max = 0;
            try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(p, root));
                    KvCache cache = model.newCache(3, 16)) {
                for (int r = 0; r < 2; r++) {
                    try (NDManager step = root.newSubManager()) {
                        float[] logits = model.forward(step, cache, new int[] {slots[r]}, new int[] {0},
                                new int[][] {java.util.Arrays.copyOf(sequences[r], done[r])}, true).toFloatArray();
                        max = Math.max(max, maxDifference(reference[r], 0, logits, 0, done[r]));
                    }
                }
                for (int length : new int[] {2, 1, 1, 1}) {
                    int[][] tokens = new int[2][];
                    for (int r = 0; r < 2; r++) {
                        tokens[r] = java.util.Arrays.copyOfRange(sequences[r], done[r], done[r] + length);
                    }
                    try (NDManager step = root.newSubManager()) {
                        float[] logits = model.forward(step, cache, slots, done.clone(), tokens, true).toFloatArray();
                        int vocab = p.config().vocabSize();
                        for (int r = 0; r < 2; r++) {
                            float[] row = java.util.Arrays.copyOfRange(logits, r * length * vocab, (r + 1) * length * vocab);
                            max = Math.max(max, maxDifference(reference[r], done[r], row, 0, length));
                            done[r] += length;
                        }
                    }
                }
            }
            assertTrue(max <= 1e-4, p.config().ropeStyle() + ": max |reference − cached DJL steps| = " + max);
        }
    }

    /**
     * Decode steps with nothing to mask (one token per row, every row at the same position: the
     * forward then skips the causal mask and the query transposes): a single sequence token by token
     * from its first token, and two sequences in non-adjacent slots stepping together; every logit
     * within 1e-4 of the reference.
     */
    @Test
    void unmaskedDecodeStepsEqualTheReference() {
        int[] other = {1, 200, 100, 119, 350, 140, 77, 432, 489, 388, 80};
        for (DenseParameters p : new DenseParameters[] {HfCheckpoint.read(TestModels.tinyStories656k()),
                Llama2cCheckpoint.read(TestModels.stories260k())}) {
            float[][][] reference = {new ReferenceLlama(p).forward(PROMPT), new ReferenceLlama(p).forward(other)};
            int vocab = p.config().vocabSize();
            double max = 0;
            try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(p, root));
                    KvCache cache = model.newCache(3, 16)) {
                for (int t = 0; t < PROMPT.length; t++) { // alone in slot 1
                    try (NDManager step = root.newSubManager()) {
                        float[] logits = model.forward(step, cache, new int[] {1}, new int[] {t}, new int[][] {{PROMPT[t]}}, false).toFloatArray();
                        max = Math.max(max, maxDifference(reference[0], t, logits, 0, 1));
                    }
                }
                int[] slots = {2, 0};
                int[][] sequences = {PROMPT, other};
                for (int t = 0; t < PROMPT.length; t++) { // together, rows in slots 2 and 0
                    try (NDManager step = root.newSubManager()) {
                        float[] logits = model.forward(step, cache, slots, new int[] {t, t}, new int[][] {{PROMPT[t]}, {other[t]}}, false)
                                .toFloatArray();
                        for (int r = 0; r < 2; r++) {
                            max = Math.max(max, maxDifference(reference[r], t, logits, r * vocab, 1));
                        }
                    }
                }
            }
            assertTrue(max <= 1e-4, p.config().ropeStyle() + ": max |reference − unmasked decode steps| = " + max);
        }
    }

    /**
     * Rows of different lengths in one pass: first two prompts (the shorter padded), then a row whose
     * single token takes the cache's last position beside a row of three. Padding positions past the
     * cache are clamped onto its last one; written anywhere but the spare slot they would clobber that
     * row's real key. Every row's last-token logits equal the reference.
     */
    @Test
    void raggedRowsInOnePassEqualTheReference() {
        int[] shortPrompt = {1, 200, 100, 119, 350, 140};
        for (DenseParameters p : new DenseParameters[] {HfCheckpoint.read(TestModels.tinyStories656k()),
                Llama2cCheckpoint.read(TestModels.stories260k())}) {
            float[][][] reference = {new ReferenceLlama(p).forward(shortPrompt), new ReferenceLlama(p).forward(java.util.Arrays.copyOf(PROMPT, 10))};
            int vocab = p.config().vocabSize();
            int[] slots = {0, 1};
            double max = 0;
            try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(p, root));
                    KvCache cache = model.newCache(2, 10)) {
                int[][][] passes = { // per pass: {start, end} of each row
                    {{0, 3}, {0, 9}}, {{3, 6}, {9, 10}}};
                for (int[][] pass : passes) {
                    int[][] tokens = {java.util.Arrays.copyOfRange(shortPrompt, pass[0][0], pass[0][1]),
                        java.util.Arrays.copyOfRange(PROMPT, pass[1][0], pass[1][1])};
                    try (NDManager s = root.newSubManager()) {
                        float[] logits = model.forward(s, cache, slots, new int[] {pass[0][0], pass[1][0]}, tokens, false).toFloatArray();
                        for (int r = 0; r < 2; r++) {
                            max = Math.max(max, maxDifference(reference[r], pass[r][1] - 1, logits, r * vocab, 1));
                        }
                    }
                }
            }
            assertTrue(max <= 1e-4, p.config().ropeStyle() + ": max |reference − ragged pass| = " + max);
        }
    }

    /** max |reference[from + t][v] − logits[t·vocab + v]| over t < count. */
    private static double maxDifference(float[][] reference, int from, float[] logits, int offset, int count) {
        int vocab = reference[0].length;
        double max = 0;
        for (int t = 0; t < count; t++) {
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, Math.abs(reference[from + t][v] - logits[offset + t * vocab + v]));
            }
        }
        return max;
    }

    @Test
    void referenceReproducesTheReadmeFirstStepLogits() {
        float[][] logits = new ReferenceLlama(HfCheckpoint.read(TestModels.tinyStories656k())).forward(new int[] {1});
        int[] ids = {147, 429, 1166, 299, 875};
        float[] expected = {14.7817f, 12.9551f, 10.1302f, 9.9054f, 9.8035f};
        for (int i = 0; i < ids.length; i++) {
            assertEquals(expected[i], logits[0][ids[i]], 1e-3, "logit of " + ids[i]);
        }
    }
}
