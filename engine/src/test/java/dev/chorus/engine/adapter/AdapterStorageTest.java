package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The slot storages against each other on a real model: host fp32 equals the device tensors (both
 * fp32; only summation order differs), and host bf16 stays within its documented tolerance of fp32:
 * the same greedy tokens on the test prompts and last-token logits within {@link #BF16_LOGIT_BOUND}
 * (relative to the logits' scale).
 */
class AdapterStorageTest {
    /** bf16 slots: |logit − fp32 logit| ≤ this × max |fp32 logit| (measured 6.6e-4 on TinyStories-656K with these adapters). */
    static final double BF16_LOGIT_BOUND = 2e-3;
    private static final int STEPS = 8;

    /** Greedy tokens [rows][STEPS] and the logits of every step, rows decoded together with their slots. */
    private record Run(int[][] tokens, float[][] logits) {
    }

    private static Run greedy(LlamaModel model, AdapterSlots slots, int[] rowSlots, NDManager root) {
        int[][] prompts = BatchedAdapterForwardTest.PROMPTS;
        int n = prompts.length;
        int vocab = model.config().vocabSize();
        int[][] out = new int[n][STEPS];
        float[][] logits = new float[STEPS][];
        try (KvCache cache = model.newCache(n, 32)) {
            int[] cacheSlots = new int[n];
            int[] positions = new int[n];
            int[][] next = new int[n][];
            for (int i = 0; i < n; i++) {
                cacheSlots[i] = i;
                next[i] = prompts[i];
            }
            for (int s = 0; s < STEPS; s++) {
                try (NDManager step = root.newSubManager()) {
                    logits[s] = model.forward(step, cache, cacheSlots, positions, next, false, slots.forRows(rowSlots)).toFloatArray();
                }
                for (int i = 0; i < n; i++) {
                    positions[i] += next[i].length;
                    int best = 0;
                    for (int v = 1; v < vocab; v++) {
                        best = logits[s][i * vocab + v] > logits[s][i * vocab + best] ? v : best;
                    }
                    out[i][s] = best;
                    next[i] = new int[] {best};
                }
            }
        }
        return new Run(out, logits);
    }

    private static Run run(DenseParameters base, AdapterSlots.Storage storage, List<Adapter> adapters, int[] rowSlots) {
        ModelConfig c = base.config();
        try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(base, root));
                AdapterSlots slots = new AdapterSlots(c, new AdapterSlots.Settings(adapters.size(), 16, EnumSet.allOf(Projection.class), storage),
                        root)) {
            for (int i = 0; i < adapters.size(); i++) {
                slots.load(i + 1, adapters.get(i));
            }
            return greedy(model, slots, rowSlots, root);
        }
    }

    private static double relativeMaxDiff(Run expected, Run actual) {
        double diff = 0;
        double scale = 0;
        for (int s = 0; s < STEPS; s++) {
            diff = Math.max(diff, BatchedAdapterForwardTest.maxDiff(expected.logits()[s], actual.logits()[s]));
            for (float v : expected.logits()[s]) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        return diff / scale;
    }

    private static List<Adapter> adapters(ModelConfig c) {
        return List.of(
                BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 16, 41),
                BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 4, 42),
                BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.QA_LORA, 8, 43),
                BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.SCALE, 0, 44));
    }

    @Test
    void hostFp32EqualsDeviceTensors() {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        List<Adapter> adapters = adapters(base.config());
        for (int[] rows : new int[][] {{3, 1, 2, 0, 1, 3}, {4, 2, 2, 1, 0, 4}}) { // unsorted, repeated, base-only, a scale adapter
            Run tensors = run(base, AdapterSlots.Storage.TENSORS, adapters, rows);
            Run host = run(base, AdapterSlots.Storage.HOST_FP32, adapters, rows);
            double diff = relativeMaxDiff(tensors, host);
            assertTrue(diff <= 1e-6, "host fp32 vs tensors: relative logit difference " + diff);
            assertArrayEquals(tensors.tokens(), host.tokens());
        }
    }

    @Test
    void hostBf16KeepsGreedyOutputsAndStaysWithinTheBound() {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        List<Adapter> adapters = adapters(base.config());
        int[] rows = {3, 1, 2, 0, 1, 3};
        Run fp32 = run(base, AdapterSlots.Storage.HOST_FP32, adapters, rows);
        Run bf16 = run(base, AdapterSlots.Storage.HOST_BF16, adapters, rows);
        double diff = relativeMaxDiff(fp32, bf16);
        assertTrue(diff <= BF16_LOGIT_BOUND, "bf16 vs fp32 slots: relative logit difference " + diff);
        assertTrue(diff > 0, "bf16 slots should round the adapters' weights");
        assertArrayEquals(fp32.tokens(), bf16.tokens(), "greedy tokens differ (relative logit difference " + diff + ")");
        System.out.println("bf16 slots: relative logit difference to fp32 slots " + diff);
    }
}
