package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batched multi-adapter forward against two oracles: each row decoded alone (batching is exact)
 * and a plain dense model with the adapter merged into its weights (the per-request math).
 */
class BatchedAdapterForwardTest {
    static final int MAX_RANK = 16;
    static final int[][] PROMPTS = {{1, 80, 388, 489}, {1, 147, 201}, {1, 80, 388, 489}, {1, 299, 875, 429, 12}, {1, 5}, {1, 77, 891}};

    static Adapter randomAdapter(ModelConfig c, AdapterType type, int rank, long seed) {
        return BatchedAdapterForwardTestSupport.randomAdapter(c, type, rank, seed);
    }

    /** W' = W + s·B·A (A expanded over groups for qa-lora) or diag(α)·W: the independent per-request math. */
    static DenseParameters merged(DenseParameters base, Adapter a) {
        if (a == null) {
            return base;
        }
        ModelConfig c = base.config();
        List<DenseParameters.Layer> layers = new ArrayList<>();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            DenseParameters.Layer l = base.layers().get(layer);
            for (Projection p : Projection.values()) {
                ModuleWeights w = a.modules().get(new Adapter.Module(layer, p));
                int in = p.inFeatures(c);
                int out = p.outFeatures(c);
                float[] m = p.of(l).clone();
                for (int o = 0; o < out; o++) {
                    for (int j = 0; j < in; j++) {
                        if (w instanceof ModuleWeights.ChannelScales s) {
                            m[o * in + j] *= s.scales()[o];
                            continue;
                        }
                        if (w instanceof ModuleWeights.HiraFactor h) { // ΔW[o, j] = s·A[o/r, j/g]/g, straight from the definition
                            int g = ((QaHira) a.kind()).groupSize();
                            m[o * in + j] += (float) (a.scaling() * h.a()[(o / a.rank()) * (in / g) + j / g] / g);
                            continue;
                        }
                        ModuleWeights.LowRank pair = (ModuleWeights.LowRank) w;
                        int g = a.kind() instanceof QaLora q ? q.groupSize() : 1;
                        double delta = 0;
                        for (int k = 0; k < a.rank(); k++) {
                            delta += (double) pair.b()[o * a.rank() + k] * pair.a()[k * (in / g) + j / g] / g;
                        }
                        m[o * in + j] += (float) (a.scaling() * delta);
                    }
                }
                l = p.with(l, m);
            }
            layers.add(l);
        }
        return new DenseParameters(c, base.tokenEmbedding(), layers, base.finalNorm(), base.classifier());
    }

    /** Last-position logits after each row's prefill, then of one decode step run for all rows together. */
    static float[][] run(LlamaWeights weights, AdapterSlots slots, int[] rowSlots, int[][] prompts, int[] decodeTokens, NDManager root) {
        try (LlamaModel model = new LlamaModel(weights); KvCache cache = model.newCache(prompts.length, 32)) {
            int n = prompts.length;
            float[][] logits = new float[n][];
            int[] positions = new int[n];
            for (int i = 0; i < n; i++) {
                try (NDManager step = root.newSubManager()) {
                    logits[i] = model.forward(step, cache, new int[] {i}, new int[] {0}, new int[][] {prompts[i]}, false,
                            slots == null ? null : slots.forRows(new int[] {rowSlots[i]})).toFloatArray();
                }
                positions[i] = prompts[i].length;
            }
            int[] cacheSlots = new int[n];
            int[][] next = new int[n][];
            for (int i = 0; i < n; i++) {
                cacheSlots[i] = i;
                next[i] = new int[] {decodeTokens[i]};
            }
            try (NDManager step = root.newSubManager()) { // one batched decode step over all rows
                float[] flat = model.forward(step, cache, cacheSlots, positions, next, false, slots == null ? null : slots.forRows(rowSlots))
                        .toFloatArray();
                int vocab = flat.length / n;
                float[][] out = new float[n][];
                for (int i = 0; i < n; i++) {
                    out[i] = concat(logits[i], java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab));
                }
                return out;
            }
        }
    }

    static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /** Adapters by row: patterns identical / distinct / zipf-like / mixed with base-only, mixed ranks and types. */
    static void check(DenseParameters base, boolean compressed, List<Adapter> adapters, int[] rowAdapter, String pattern) {
        ModelConfig c = base.config();
        try (NDManager root = NDManager.newBaseManager();
                AdapterSlots slots = new AdapterSlots(c, new AdapterSlots.Settings(adapters.size(), MAX_RANK, EnumSet.allOf(Projection.class)), root)) {
            for (int i = 0; i < adapters.size(); i++) {
                slots.load(i + 1, adapters.get(i));
            }
            int[] rowSlots = new int[PROMPTS.length];
            for (int i = 0; i < rowSlots.length; i++) {
                rowSlots[i] = rowAdapter[i] < 0 ? 0 : rowAdapter[i] + 1;
            }
            int[] decode = new int[PROMPTS.length];
            for (int i = 0; i < decode.length; i++) {
                decode[i] = (i * 37 + 11) % c.vocabSize();
            }
            float[][] batched = run(upload(base, compressed, root), slots, rowSlots, PROMPTS, decode, root);
            for (int i = 0; i < PROMPTS.length; i++) {
                Adapter a = rowAdapter[i] < 0 ? null : adapters.get(rowAdapter[i]);
                int[] own = {decode[i]};
                float[][] alone = run(upload(base, compressed, root), slots, new int[] {rowSlots[i]}, new int[][] {PROMPTS[i]}, own, root);
                float[][] mergedRef = run(upload(merged(compressed ? dequantized(base) : base, a), false, root), null, new int[] {0},
                        new int[][] {PROMPTS[i]}, own, root);
                double batching = maxDiff(batched[i], alone[0]);
                double math = maxDiff(batched[i], mergedRef[0]);
                // fp32: batch shape changes how the matmuls are blocked; allow 1e-6 of the logit scale (~1.5e-5 here).
                double scale = 0;
                for (float v : alone[0]) {
                    scale = Math.max(scale, Math.abs(v));
                }
                assertTrue(batching <= 1e-6 * scale, pattern + " row " + i + ": batched vs alone differs by " + batching + " (scale " + scale + ")");
                assertTrue(math <= 1e-4, pattern + " row " + i + " (" + (a == null ? "base" : a.type()) + "): vs merged weights " + math);
            }
        }
    }

    static LlamaWeights upload(DenseParameters base, boolean compressed, NDManager root) {
        return compressed ? LlamaWeights.upload(BatchedAdapterForwardTestSupport.compress(base), root) : LlamaWeights.upload(base, root);
    }

    static DenseParameters dequantized(DenseParameters p) {
        CompressedParameters cp = BatchedAdapterForwardTestSupport.compress(p);
        List<DenseParameters.Layer> layers = new ArrayList<>();
        for (int i = 0; i < cp.blocks().size(); i++) {
            DenseParameters.Layer l = p.layers().get(i);
            for (Projection proj : Projection.values()) {
                l = proj.with(l, cp.blocks().get(i).linear(proj).dequantize());
            }
            layers.add(l);
        }
        return new DenseParameters(p.config(), p.tokenEmbedding(), layers, p.finalNorm(), p.classifier());
    }

    /** Rows by adapter index into {@link #sharingAdapters} (−1: base only), on the dense and the compressed base. */
    static Stream<Arguments> sharingPatterns() {
        return Stream.of(false, true).flatMap(compressed -> Stream.of(
                Arguments.of(compressed, "identical", new int[] {0, 0, 0, 0, 0, 0}),
                Arguments.of(compressed, "distinct", new int[] {0, 1, 2, 3, 4, 5}),
                Arguments.of(compressed, "distinct+base", new int[] {0, 1, 2, 3, 4, -1}),
                Arguments.of(compressed, "zipf", new int[] {0, 0, 0, 1, 0, 2}),
                Arguments.of(compressed, "mixed with base-only", new int[] {-1, 3, -1, 2, -1, 1})));
    }

    /** Mixed ranks and types, the qa-hira one with output group 32: served as rank ≤ 16. */
    static List<Adapter> sharingAdapters(ModelConfig c) {
        return List.of(randomAdapter(c, AdapterType.LORA, 16, 1), randomAdapter(c, AdapterType.LORA, 4, 2),
                randomAdapter(c, AdapterType.QA_LORA, 8, 3), randomAdapter(c, AdapterType.SCALE, 0, 4), randomAdapter(c, AdapterType.LORA, 8, 5),
                randomAdapter(c, AdapterType.QA_HIRA, 32, 6));
    }

    @ParameterizedTest(name = "{1}, compressed base: {0}")
    @MethodSource("sharingPatterns")
    void everySharingPatternAndType(boolean compressed, String pattern, int[] rowAdapter) {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        List<Adapter> adapters = sharingAdapters(base.config());
        assertTrue(HiraExpansion.rank(adapters.get(5), base.config()) <= MAX_RANK);
        check(base, compressed, adapters, rowAdapter, pattern);
    }

    /**
     * Every type survives write → read unchanged, and the read-back adapter in a slot computes what
     * the original in another slot computes, which is the merged-weights math; merged-only types are
     * refused by the slots.
     */
    @Test
    void adapterFilesRoundTripAndLoadIntoSlotsIdentically(@TempDir Path dir) {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        for (AdapterType type : AdapterType.values()) {
            Adapter a = randomAdapter(base.config(), type, 8, 9);
            Path d = dir.resolve(type.label());
            AdapterFiles.write(a, d);
            Adapter back = AdapterFiles.read(d, base.config(), MAX_RANK, null);
            assertEquals(a.type(), back.type());
            assertEquals(a.rank(), back.rank());
            assertEquals(a.scaling(), back.scaling());
            assertEquals(a.targets(), back.targets());
            for (var e : a.modules().entrySet()) {
                List<float[]> written = a.kind().values(e.getValue());
                List<float[]> read = back.kind().values(back.modules().get(e.getKey()));
                assertEquals(written.size(), read.size(), type + " " + e.getKey());
                for (int i = 0; i < read.size(); i++) {
                    assertArrayEquals(written.get(i), read.get(i), type + " " + e.getKey() + " tensor " + i);
                }
            }
            loadIntoSlots(base, a, back);
        }
    }

    /** Original in slot 1, read-back copy in slot 2, base in slot 0; one prompt through all three rows. */
    static void loadIntoSlots(DenseParameters base, Adapter original, Adapter back) {
        ModelConfig c = base.config();
        int rank = original.type() == AdapterType.QA_HIRA ? Math.max(MAX_RANK, HiraExpansion.rank(original, c)) : MAX_RANK;
        try (NDManager root = NDManager.newBaseManager();
                AdapterSlots slots = new AdapterSlots(c, new AdapterSlots.Settings(2, rank, EnumSet.allOf(Projection.class)), root)) {
            if (original.kind() instanceof SparsePeft || original.kind() instanceof QaSparsePeft) {
                MergedOnlyException e = assertThrows(MergedOnlyException.class, () -> slots.load(1, back));
                assertTrue(e.getMessage().contains("merged"), e.getMessage());
                return;
            }
            slots.load(1, original);
            slots.load(2, back);
            int[] prompt = PROMPTS[0];
            float[][] rows = run(upload(base, false, root), slots, new int[] {1, 2, 0}, new int[][] {prompt, prompt, prompt},
                    new int[] {11, 11, 11}, root);
            float[][] reference = run(upload(merged(base, original), false, root), null, new int[] {0}, new int[][] {prompt}, new int[] {11}, root);
            String type = original.type().label();
            double scale = 0;
            for (float v : rows[0]) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(maxDiff(rows[0], rows[1]) <= 1e-6 * scale, type + ": read-back slot differs from the original's by " + maxDiff(rows[0], rows[1]));
            assertTrue(maxDiff(rows[0], reference[0]) <= 1e-4, type + ": slot vs merged weights " + maxDiff(rows[0], reference[0]));
            assertTrue(maxDiff(rows[0], rows[2]) > 1e-3, type + ": the slot holds an adapter, not zeros");
        }
    }
}
