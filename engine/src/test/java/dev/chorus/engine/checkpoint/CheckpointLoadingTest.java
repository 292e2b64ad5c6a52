package dev.chorus.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.llama.DenseParameters;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HF checkpoint loading: half-precision dtypes, shards, tied/aliased embeddings, config errors, RoPE layouts. */
class CheckpointLoadingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EMBED = "model.embed_tokens.weight";
    private static final String LM_HEAD = "lm_head.weight";

    record Tensor(long[] shape, float[] data) {
    }

    static NDManager root;
    static Map<String, Tensor> original; // TinyStories-656K as stored (lm_head.weight only), header order
    static float[] f32Logits; // first-step logits for prompt [1]

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        root = NDManager.newBaseManager();
        original = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(TestModels.tinyStories656k().resolve("model.safetensors"))) {
            for (String name : f.names()) {
                original.put(name, new Tensor(f.info(name).shape(), f.readFloats(name)));
            }
        }
        f32Logits = logits(HfCheckpoint.read(TestModels.tinyStories656k()), new int[] {1}, false);
    }

    @AfterAll
    static void close() {
        root.close();
    }

    // ---------------------------------------------------------------- F16 / BF16

    @Test
    void f16CheckpointLoadsRoundedWeightsAndKeepsLogitsClose() throws IOException {
        // F16 keeps 11 significant bits (relative rounding error <= 2^-11 ~ 4.9e-4 per weight, more for the few
        // subnormals); measured max |dlogit| is 3.2e-3 on logits of magnitude ~15, so 0.05 leaves a wide margin
        // yet catches any real decoding error (a wrong exponent bias, byte order or subnormal scale moves logits by units).
        checkHalfPrecision(HalfFormat.F16, 0.05f);
    }

    @Test
    void bf16CheckpointLoadsRoundedWeightsAndKeepsLogitsClose() throws IOException {
        // BF16 keeps only 8 significant bits (relative error <= 2^-8 ~ 3.9e-3, 8x coarser than F16); measured max
        // |dlogit| is 3.6e-2, so 0.25 is the analogous bound; the top-1 margin (~1.8) is far larger.
        checkHalfPrecision(HalfFormat.BF16, 0.25f);
    }

    @Test
    void testRoundingIsNearestEven() { // sanity of the test's own converter, on ties and range ends
        assertEquals((short) 0x3C00, HalfFormat.F16.round(1 + 0x1p-11f)); // tie -> even mantissa
        assertEquals((short) 0x3C02, HalfFormat.F16.round(1 + 0x3p-11f)); // tie -> even (up)
        assertEquals((short) 0xBC01, HalfFormat.F16.round(-(1 + 0x1.4p-10f))); // 1.25 ulp -> 1 ulp
        assertEquals((short) 0x0001, HalfFormat.F16.round(0x1.8p-25f)); // subnormal
        assertEquals((short) 0x7BFF, HalfFormat.F16.round(65504f));
        assertEquals((short) 0x3F80, HalfFormat.BF16.round(1 + 0x1p-8f));
        assertEquals((short) 0x3F82, HalfFormat.BF16.round(1 + 0x3p-8f));
        assertEquals(-1.5f, HalfFormat.F16.decode((short) 0xBE00));
    }

    /**
     * The published TinyStories-656K weights are all exactly representable in BF16 (and F16), so converting them
     * would be lossless and prove nothing about rounding. Each weight is therefore scaled by a seeded factor in
     * [1 - 2^-7, 1 + 2^-7] first, which leaves the low mantissa bits set; this perturbed F32 model is the reference.
     */
    private static Map<String, Tensor> perturbed() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(2024);
        Map<String, Tensor> out = new LinkedHashMap<>();
        original.forEach((name, t) -> {
            float[] data = t.data().clone();
            for (int i = 0; i < data.length; i++) {
                data[i] *= (float) (1 + (random.nextDouble() * 2 - 1) / 128);
            }
            out.put(name, new Tensor(t.shape(), data));
        });
        return out;
    }

    private void checkHalfPrecision(HalfFormat format, float tolerance) throws IOException {
        Map<String, Tensor> source = perturbed();
        DenseParameters reference = HfCheckpoint.read(writeSingle(format + "-f32", source, c -> { }));
        float[] referenceLogits = logits(reference, new int[] {1}, false);
        assertTrue(maxAbsDiff(f32Logits, referenceLogits) < 0.5f, "perturbation must keep the model intact");
        assertEquals(147, argmax(referenceLogits));

        Path model = Files.createDirectories(dir.resolve(format.name()));
        copyConfig(model);
        SafetensorsWriter writer = new SafetensorsWriter();
        Map<String, float[]> expected = new LinkedHashMap<>();
        int changed = 0;
        int subnormal = 0;
        for (var e : source.entrySet()) {
            float[] data = e.getValue().data();
            ByteBuffer bytes = ByteBuffer.allocate(2 * data.length).order(ByteOrder.LITTLE_ENDIAN);
            float[] rounded = new float[data.length];
            for (int i = 0; i < data.length; i++) {
                short bits = format.round(data[i]);
                bytes.putShort(bits);
                rounded[i] = format.decode(bits);
                changed += rounded[i] != data[i] ? 1 : 0;
                subnormal += (bits & 0x7FFF) != 0 && (bits & format.exponentMask) == 0 ? 1 : 0;
            }
            writer.add(e.getKey(), format.dtype, e.getValue().shape(), bytes.array());
            expected.put(e.getKey(), rounded);
        }
        writer.write(model.resolve("model.safetensors"));
        assertTrue(changed > 600_000, "rounding must change most of the 656K weights, changed " + changed);
        if (format == HalfFormat.F16) {
            assertTrue(subnormal > 0, "the F16 subnormal range must be exercised");
        }

        DenseParameters p = HfCheckpoint.read(model);
        Map<String, float[]> loaded = byName(p);
        for (var e : expected.entrySet()) {
            assertArrayEquals(e.getValue(), loaded.get(e.getKey()), format + " " + e.getKey());
        }
        assertSame(p.tokenEmbedding(), p.classifier());

        float[] logits = logits(p, new int[] {1}, false);
        float diff = maxAbsDiff(referenceLogits, logits);
        assertTrue(diff <= tolerance, format + " logits differ from F32 by " + diff);
        assertTrue(diff > 0, format + " logits identical to F32: the rounded weights were not used");
        assertEquals(147, argmax(logits));
    }

    // ---------------------------------------------------------------- shards

    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    /** Writes the F32 tensors over two shards; returns the weight map written to the index. */
    private Map<String, String> writeSharded(Path model) throws IOException {
        copyConfig(model);
        SafetensorsWriter first = new SafetensorsWriter();
        SafetensorsWriter second = new SafetensorsWriter();
        Map<String, String> weightMap = new LinkedHashMap<>();
        int i = 0;
        for (var e : original.entrySet()) {
            boolean isFirst = i++ < original.size() / 2;
            (isFirst ? first : second).addFloats(e.getKey(), e.getValue().shape(), e.getValue().data());
            weightMap.put(e.getKey(), isFirst ? SHARD1 : SHARD2);
        }
        first.write(model.resolve(SHARD1));
        second.write(model.resolve(SHARD2));
        writeIndex(model, weightMap);
        return weightMap;
    }

    private static void writeIndex(Path model, Map<String, String> weightMap) throws IOException {
        JSON.writeValue(model.resolve("model.safetensors.index.json").toFile(), Map.of("metadata", Map.of(), "weight_map", weightMap));
    }

    @Test
    void shardedCheckpointLoadsBitIdenticalToSingleFile() throws IOException {
        Path model = Files.createDirectories(dir.resolve("sharded"));
        Map<String, String> weightMap = writeSharded(model);
        assertFalse(Files.exists(model.resolve("model.safetensors")));
        assertEquals(SHARD1, weightMap.get(LM_HEAD));
        assertEquals(SHARD2, weightMap.get("model.norm.weight"));

        DenseParameters p = HfCheckpoint.read(model);
        Map<String, float[]> loaded = byName(p);
        for (var e : original.entrySet()) {
            assertArrayEquals(e.getValue().data(), loaded.get(e.getKey()), e.getKey());
        }
        assertArrayEquals(f32Logits, logits(p, new int[] {1}, false));
    }

    @Test
    void indexPointingAtMissingShardFailsNamingIt() throws IOException {
        Path model = Files.createDirectories(dir.resolve("missing"));
        writeSharded(model);
        Files.delete(model.resolve(SHARD2));
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.contains(model.resolve(SHARD2) + ": shard file not found"), message);
    }

    @Test
    void indexMappingTensorToShardWithoutItFailsNamingBoth() throws IOException {
        Path model = Files.createDirectories(dir.resolve("wrongshard"));
        Map<String, String> weightMap = writeSharded(model);
        weightMap.put("model.norm.weight", SHARD1); // it lives in shard 2
        writeIndex(model, weightMap);
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.contains("model.norm.weight is mapped to " + SHARD1 + " which does not contain it"), message);
    }

    // ---------------------------------------------------------------- tied / aliased embeddings

    private Path writeSingle(String name, Map<String, Tensor> tensors, Consumer<ObjectNode> editConfig) throws IOException {
        Path model = Files.createDirectories(dir.resolve(name));
        ObjectNode config = (ObjectNode) JSON.readTree(TestModels.tinyStories656k().resolve("config.json").toFile());
        editConfig.accept(config);
        JSON.writeValue(model.resolve("config.json").toFile(), config);
        SafetensorsWriter writer = new SafetensorsWriter();
        tensors.forEach((n, t) -> writer.addFloats(n, t.shape(), t.data()));
        writer.write(model.resolve("model.safetensors"));
        return model;
    }

    /** The original tensors with lm_head.weight removed and {@code replacements} added. */
    private static Map<String, Tensor> without(String removed, Map<String, Tensor> replacements) {
        Map<String, Tensor> out = new LinkedHashMap<>(original);
        out.remove(removed);
        out.putAll(replacements);
        return out;
    }

    @Test
    void embeddingStoredOnlyAsEmbedTokensIsTiedToClassifier() throws IOException {
        Path model = writeSingle("embedonly", without(LM_HEAD, Map.of(EMBED, original.get(LM_HEAD))), c -> { });
        DenseParameters p = HfCheckpoint.read(model);
        assertSame(p.tokenEmbedding(), p.classifier());
        assertArrayEquals(original.get(LM_HEAD).data(), p.tokenEmbedding());
        assertArrayEquals(f32Logits, logits(p, new int[] {1}, false));
    }

    @Test
    void distinctEmbedTokensAndLmHeadAreEachUsedForTheirRole() throws IOException {
        Tensor head = original.get(LM_HEAD);
        int dim = (int) head.shape()[1];
        float[] embedding = head.data().clone(); // rows of tokens 1 and 5 swapped: input [1] now reads token 5's row
        System.arraycopy(head.data(), 5 * dim, embedding, dim, dim);
        System.arraycopy(head.data(), dim, embedding, 5 * dim, dim);
        float[] classifier = head.data().clone(); // doubled: exact in float32, so every logit doubles exactly
        for (int i = 0; i < classifier.length; i++) {
            classifier[i] *= 2;
        }
        Path model = writeSingle("both", without(LM_HEAD,
                Map.of(EMBED, new Tensor(head.shape(), embedding), LM_HEAD, new Tensor(head.shape(), classifier))), c -> { });
        DenseParameters p = HfCheckpoint.read(model);
        assertNotSame(p.tokenEmbedding(), p.classifier());
        assertArrayEquals(embedding, p.tokenEmbedding());
        assertArrayEquals(classifier, p.classifier());

        float[] expected = logits(HfCheckpoint.read(TestModels.tinyStories656k()), new int[] {5}, false);
        for (int i = 0; i < expected.length; i++) {
            expected[i] *= 2;
        }
        float[] actual = logits(p, new int[] {1}, false);
        assertArrayEquals(expected, actual);
        assertTrue(maxAbsDiff(f32Logits, actual) > 1, "logits must change with the separate weights");
    }

    @Test
    void untiedConfigWithoutLmHeadFails() throws IOException {
        Path model = writeSingle("untied", without(LM_HEAD, Map.of(EMBED, original.get(LM_HEAD))),
                c -> c.put("tie_word_embeddings", false));
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.contains("no lm_head.weight and tie_word_embeddings is false"), message);
    }

    // ---------------------------------------------------------------- config and shape errors

    private String configError(String name, Consumer<ObjectNode> edit) throws IOException {
        Path model = writeSingle(name, original, edit);
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.startsWith(model.resolve("config.json") + ": "), message);
        return message;
    }

    @Test
    void configErrorsNameTheFieldAndProblem() throws IOException {
        String missing = configError("nohidden", c -> c.remove("hidden_size"));
        assertTrue(missing.endsWith("field hidden_size is missing or not an integer"), missing);
        String text = configError("textlayers", c -> c.put("num_hidden_layers", "two"));
        assertTrue(text.endsWith("field num_hidden_layers is missing or not an integer"), text);
        String fraction = configError("fraclayers", c -> c.put("num_hidden_layers", 2.5));
        assertTrue(fraction.endsWith("field num_hidden_layers is missing or not an integer"), fraction);
        String optional = configError("frackv", c -> c.put("num_key_value_heads", 4.5));
        assertTrue(optional.endsWith("field num_key_value_heads is not an integer"), optional);
        String indivisible = configError("heads", c -> c.put("num_attention_heads", 6));
        assertTrue(indivisible.endsWith("hidden_size 128 is not divisible by num_attention_heads 6"), indivisible);
        String zero = configError("zerovocab", c -> c.put("vocab_size", 0));
        assertTrue(zero.endsWith("vocab_size must be a positive integer, got 0"), zero);
    }

    @Test
    void invalidConfigJsonFails() throws IOException {
        Path model = writeSingle("badjson", original, c -> { });
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 128,");
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.startsWith(model.resolve("config.json") + ": not valid JSON"), message);
    }

    @Test
    void tensorWithWrongShapeFailsNamingTensorAndBothShapes() throws IOException {
        String name = "model.layers.1.mlp.down_proj.weight";
        Tensor down = original.get(name); // [128, 384]; store it as [384, 128]
        Map<String, Tensor> tensors = new LinkedHashMap<>(original);
        tensors.put(name, new Tensor(new long[] {384, 128}, down.data()));
        Path model = writeSingle("shape", tensors, c -> { });
        String message = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.read(model)).getMessage();
        assertTrue(message.contains("tensor " + name + " has shape [384, 128], expected [128, 384]"), message);
    }

    // ---------------------------------------------------------------- RoPE conventions

    @Test
    void interleavedAndHalfSplitAreTheSameModelUpToAPermutation() {
        DenseParameters interleaved = Llama2cCheckpoint.read(TestModels.stories260k());
        ModelConfig c = interleaved.config();
        assertEquals(RopeStyle.INTERLEAVED, c.ropeStyle());
        ModelConfig halfConfig = new ModelConfig(c.hiddenSize(), c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.numLayers(),
                c.vocabSize(), c.maxPositions(), c.rmsNormEps(), c.ropeTheta(), c.tiedEmbeddings(), c.bosId(), c.eosId(),
                RopeStyle.HALF_SPLIT);
        List<DenseParameters.Layer> permuted = new ArrayList<>();
        for (DenseParameters.Layer l : interleaved.layers()) {
            permuted.add(new DenseParameters.Layer(l.attentionNorm(), toHalfSplit(l.query(), c.numHeads(), c.headDim(), c.hiddenSize()),
                    toHalfSplit(l.key(), c.numKvHeads(), c.headDim(), c.hiddenSize()), l.value(), l.output(), l.ffnNorm(), l.gate(),
                    l.up(), l.down()));
        }
        DenseParameters halfSplit = new DenseParameters(halfConfig, interleaved.tokenEmbedding(), permuted, interleaved.finalNorm(),
                interleaved.classifier());
        DenseParameters wrongStyle = new DenseParameters(halfConfig, interleaved.tokenEmbedding(), interleaved.layers(),
                interleaved.finalNorm(), interleaved.classifier());

        int[][] prompts = {{1}, {1, 403, 407, 261, 378, 394, 260}, {1, 20, 300, 77, 450, 12, 99, 500, 3, 41, 256, 128, 7, 311}};
        for (int[] prompt : prompts) {
            float[] reference = logits(interleaved, prompt, true);
            assertEquals(prompt.length * c.vocabSize(), reference.length);
            float same = maxAbsDiff(reference, logits(halfSplit, prompt, true));
            assertTrue(same <= 1e-4, "permuted HALF_SPLIT differs by " + same + " for prompt length " + prompt.length);
            if (prompt.length > 1) { // at position 0 RoPE is the identity, so only later positions can tell the styles apart
                float wrong = maxAbsDiff(reference, logits(wrongStyle, prompt, true));
                assertTrue(wrong > 1e-2, "unpermuted weights under HALF_SPLIT differ by only " + wrong);
            }
        }
    }

    /** Per head: new row j <- old row 2j, new row j + hd/2 <- old row 2j+1. */
    private static float[] toHalfSplit(float[] weight, int heads, int headDim, int in) {
        float[] out = new float[weight.length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < headDim / 2; j++) {
                int base = h * headDim;
                System.arraycopy(weight, (base + 2 * j) * in, out, (base + j) * in, in);
                System.arraycopy(weight, (base + 2 * j + 1) * in, out, (base + j + headDim / 2) * in, in);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private void copyConfig(Path model) throws IOException {
        Files.copy(TestModels.tinyStories656k().resolve("config.json"), model.resolve("config.json"));
    }

    /** The loaded arrays under their HF names (both embedding names present). */
    private static Map<String, float[]> byName(DenseParameters p) {
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put(EMBED, p.tokenEmbedding());
        out.put(LM_HEAD, p.classifier());
        for (int i = 0; i < p.layers().size(); i++) {
            DenseParameters.Layer l = p.layers().get(i);
            String prefix = "model.layers." + i + ".";
            out.put(prefix + "input_layernorm.weight", l.attentionNorm());
            out.put(prefix + "self_attn.q_proj.weight", l.query());
            out.put(prefix + "self_attn.k_proj.weight", l.key());
            out.put(prefix + "self_attn.v_proj.weight", l.value());
            out.put(prefix + "self_attn.o_proj.weight", l.output());
            out.put(prefix + "post_attention_layernorm.weight", l.ffnNorm());
            out.put(prefix + "mlp.gate_proj.weight", l.gate());
            out.put(prefix + "mlp.up_proj.weight", l.up());
            out.put(prefix + "mlp.down_proj.weight", l.down());
        }
        out.put("model.norm.weight", p.finalNorm());
        return out;
    }

    /** Logits of the last token ([vocab]) or of every token ([L * vocab]) for one fresh sequence. */
    static float[] logits(DenseParameters p, int[] prompt, boolean allPositions) {
        try (LlamaWeights weights = LlamaWeights.upload(p, root)) {
            LlamaModel model = new LlamaModel(weights);
            try (KvCache cache = model.newCache(1, prompt.length); NDManager step = root.newSubManager()) {
                return model.forward(step, cache, new int[] {0}, new int[] {0}, new int[][] {prompt}, allPositions).toFloatArray();
            }
        }
    }

    static float maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
