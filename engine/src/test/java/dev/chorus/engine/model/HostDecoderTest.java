package dev.chorus.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.BatchedAdapterForwardTestSupport;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The host decode path against the backend path it stands for: the same prompts prefilled on the
 * backend, then greedy decode steps of rows at different positions in scattered cache slots, on a
 * half-split RoPE model (TinyStories-656K), an interleaved grouped-query one (stories260K), a 50 %
 * + INT4 compressed one and with per-row adapters. Logits agree within 1e-5 of their scale (only
 * summation order differs) and greedy tokens are identical.
 */
class HostDecoderTest {
    private static final int[][] PROMPTS = {{1, 80, 388, 489}, {1, 147, 201}, {1, 299, 475, 429, 12, 7, 31}, {1, 5}, {1, 77, 491}}; // within 512 tokens;
    private static final int[] SLOTS = {5, 0, 3, 1, 6}; // scattered, unsorted
    private static final int STEPS = 12;
    private static final double BOUND = 1e-5;
    /**
     * bf16 copies of every weight: |logit − fp32 logit| ≤ this × max |fp32 logit| (measured 4.5e-3 on
     * stories260K; TinyStories-656K's weights are bf16 already, so there the copies are exact).
     */
    static final double BF16_BOUND = 1e-2;

    /** Greedy tokens [rows][STEPS] and each step's logits of rows decoded together. */
    private record Run(int[][] tokens, float[][] logits) {
    }

    private static Run greedy(LlamaModel model, Function<int[], RowAdapters> adapters, int[] rowSlots, NDManager root) {
        int n = PROMPTS.length;
        int vocab = model.config().vocabSize();
        int[][] tokens = new int[n][STEPS];
        float[][] logits = new float[STEPS][];
        try (KvCache cache = model.newCache(8, 64)) {
            int[] positions = new int[n];
            int[][] next = PROMPTS.clone();
            for (int s = 0; s < STEPS; s++) {
                try (NDManager step = root.newSubManager()) {
                    logits[s] = model.lastLogits(step, cache, SLOTS, positions, next, adapters.apply(rowSlots));
                }
                for (int i = 0; i < n; i++) {
                    positions[i] += next[i].length;
                    int best = 0;
                    for (int v = 1; v < vocab; v++) {
                        best = logits[s][i * vocab + v] > logits[s][i * vocab + best] ? v : best;
                    }
                    tokens[i][s] = best;
                    next[i] = new int[] {best};
                }
            }
        }
        return new Run(tokens, logits);
    }

    private static void assertSameDecoding(Run backend, Run host, String what) {
        assertSameDecoding(backend, host, what, BOUND);
    }

    private static void assertSameDecoding(Run backend, Run host, String what, double bound) {
        double diff = 0;
        double scale = 0;
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < backend.logits()[s].length; i++) {
                diff = Math.max(diff, Math.abs(backend.logits()[s][i] - host.logits()[s][i]));
                scale = Math.max(scale, Math.abs(backend.logits()[s][i]));
            }
        }
        System.out.println(what + ": host vs backend logits differ by " + diff / scale + " of their scale");
        assertTrue(diff <= bound * scale, what + ": host vs backend logits differ by " + diff + " (scale " + scale + ")");
        assertArrayEquals(backend.tokens(), host.tokens(), what + ": greedy tokens differ");
    }

    private static void compare(DenseParameters p, boolean compressed, String what) {
        try (NDManager root = NDManager.newBaseManager();
                LlamaModel backend = new LlamaModel(upload(p, compressed, root, DecodePath.BACKEND));
                LlamaModel host = new LlamaModel(upload(p, compressed, root, DecodePath.HOST))) {
            assertFalse(backend.decodesOnHost());
            assertTrue(host.decodesOnHost(), what + ": no host decode path");
            assertSameDecoding(greedy(backend, r -> null, null, root), greedy(host, r -> null, null, root), what);
        }
    }

    private static LlamaWeights upload(DenseParameters p, boolean compressed, NDManager root, DecodePath path) {
        return compressed ? LlamaWeights.upload(BatchedAdapterForwardTestSupport.compress(p), root, path) : LlamaWeights.upload(p, root, path);
    }

    @Test
    void halfSplitRopeModelDecodesAsOnTheBackend() {
        compare(HfCheckpoint.read(TestModels.tinyStories656k()), false, "TinyStories-656K");
    }

    @Test
    void interleavedGroupedQueryModelDecodesAsOnTheBackend() {
        DenseParameters p = Llama2cCheckpoint.read(TestModels.stories260k());
        assertTrue(p.config().groupSize() > 1, "stories260K should have grouped-query attention");
        compare(p, false, "stories260K");
    }

    @Test
    void sparseInt4ModelDecodesAsOnTheBackend() {
        compare(HfCheckpoint.read(TestModels.tinyStories656k()), true, "TinyStories-656K 50 % + INT4");
    }

    /**
     * bf16 copies: within {@link #BF16_BOUND} of the fp32 backend's logits (relative to their scale) and
     * the same greedy tokens on these prompts.
     */
    @Test
    void bf16CopiesStayWithinTheirBound() {
        for (DenseParameters p : List.of(HfCheckpoint.read(TestModels.tinyStories656k()), Llama2cCheckpoint.read(TestModels.stories260k()))) {
            try (NDManager root = NDManager.newBaseManager();
                    LlamaModel backend = new LlamaModel(LlamaWeights.upload(p, root, DecodePath.BACKEND));
                    LlamaModel bf16 = new LlamaModel(LlamaWeights.upload(p, root, DecodePath.HOST_BF16))) {
                assertSameDecoding(greedy(backend, r -> null, null, root), greedy(bf16, r -> null, null, root), "bf16 " + p.config().vocabSize(),
                        BF16_BOUND);
            }
        }
    }

    /** Host slots on the host path against tensor slots on the backend; a scale adapter in the batch sends the step to the backend. */
    @Test
    void rowsWithAdaptersDecodeAsOnTheBackend() {
        DenseParameters p = HfCheckpoint.read(TestModels.tinyStories656k());
        List<Adapter> adapters = List.of(
                BatchedAdapterForwardTestSupport.randomAdapter(p.config(), AdapterType.LORA, 16, 41),
                BatchedAdapterForwardTestSupport.randomAdapter(p.config(), AdapterType.QA_LORA, 8, 43),
                BatchedAdapterForwardTestSupport.randomAdapter(p.config(), AdapterType.SCALE, 0, 44));
        try (NDManager root = NDManager.newBaseManager();
                LlamaModel backend = new LlamaModel(LlamaWeights.upload(p, root, DecodePath.BACKEND));
                LlamaModel host = new LlamaModel(LlamaWeights.upload(p, root, DecodePath.HOST));
                AdapterSlots tensors = slots(p, adapters, AdapterSlots.Storage.TENSORS, root);
                AdapterSlots hostSlots = slots(p, adapters, AdapterSlots.Storage.HOST_FP32, root)) {
            int[] lowRankOnly = {2, 0, 1, 2, 1};
            assertTrue(hostSlots.forRows(lowRankOnly).onHost());
            assertSameDecoding(greedy(backend, tensors::forRows, lowRankOnly, root), greedy(host, hostSlots::forRows, lowRankOnly, root),
                    "low-rank adapters");
            int[] withScale = {3, 1, 0, 2, 3};
            assertFalse(hostSlots.forRows(withScale).onHost());
            assertSameDecoding(greedy(backend, tensors::forRows, withScale, root), greedy(host, hostSlots::forRows, withScale, root),
                    "with a scale adapter");
        }
    }

    private static AdapterSlots slots(DenseParameters p, List<Adapter> adapters, AdapterSlots.Storage storage, NDManager root) {
        AdapterSlots slots = new AdapterSlots(p.config(), new AdapterSlots.Settings(adapters.size(), 16, EnumSet.allOf(Projection.class), storage), root);
        for (int i = 0; i < adapters.size(); i++) {
            slots.load(i + 1, adapters.get(i));
        }
        return slots;
    }

    /**
     * The Java copies are memory like any other (a merged variant's budget counts them): TinyStories-656K
     * holds 2 × (256·128 + 128·128 + 768·128 + 128·384) = 393 216 block-linear weights and a tied
     * 2048 × 128 classifier, 655 360 weights copied at 4 bytes (fp32) or 2 (bf16), on top of the device's.
     */
    @Test
    void hostCopiesCountInTheResidentBytes() {
        DenseParameters p = HfCheckpoint.read(TestModels.tinyStories656k());
        try (NDManager root = NDManager.newBaseManager();
                LlamaWeights backend = LlamaWeights.upload(p, root, DecodePath.BACKEND);
                LlamaWeights fp32 = LlamaWeights.upload(p, root, DecodePath.HOST);
                LlamaWeights bf16 = LlamaWeights.upload(p, root, DecodePath.HOST_BF16)) {
            assertEquals(655_360L * 4, fp32.bytesResident() - backend.bytesResident());
            assertEquals(655_360L * 2, bf16.bytesResident() - backend.bytesResident());
            assertEquals(393_216L * 4, fp32.linearBytesResident() - backend.linearBytesResident());
        }
    }

    /** A row's logits on the host path are the same bits whether it decodes alone or beside others. */
    @Test
    void aRowDecodesTheSameAloneAndInABatch() {
        DenseParameters p = HfCheckpoint.read(TestModels.tinyStories656k());
        try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(p, root, DecodePath.HOST))) {
            int vocab = p.config().vocabSize();
            int[][] prompts = {{1, 80, 388}, {1, 147, 201}, {1, 299, 875}};
            float[] batched;
            float[] alone;
            try (KvCache cache = model.newCache(3, 16); NDManager step = root.newSubManager()) {
                for (int r = 0; r < 3; r++) { // each prompt prefilled alone, so the caches hold the same bits
                    model.lastLogits(step, cache, new int[] {r}, new int[1], new int[][] {prompts[r]}, null);
                }
                batched = model.lastLogits(step, cache, new int[] {0, 1, 2}, new int[] {3, 3, 3}, new int[][] {{42}, {43}, {44}}, null);
            }
            try (KvCache cache = model.newCache(3, 16); NDManager step = root.newSubManager()) {
                model.lastLogits(step, cache, new int[] {1}, new int[1], new int[][] {prompts[1]}, null);
                alone = model.lastLogits(step, cache, new int[] {1}, new int[] {3}, new int[][] {{43}}, null);
            }
            assertArrayEquals(alone, Arrays.copyOfRange(batched, vocab, 2 * vocab));
        }
    }
}
