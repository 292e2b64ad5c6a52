package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.SafetensorsFile;
import dev.chorus.engine.checkpoint.SafetensorsWriter;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEFT-format adapters: what Hugging Face PEFT writes loads; each kind of bad adapter gets its own clear error. */
class AdapterFilesTest {
    static final ModelConfig C = HfCheckpoint.readConfig(TestModels.tinyStories656k());
    static final String Q = "base_model.model.model.layers.0.self_attn.q_proj.";
    static final String DOWN = "base_model.model.model.layers.1.mlp.down_proj.";

    /** A config as PEFT writes it (extra fields included), with q_proj of layer 0 and down_proj of layer 1. */
    static Path peftAdapter(Path dir, String config, int rank, long[] qShapeA) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), config);
        SafetensorsWriter w = new SafetensorsWriter();
        w.addFloats(Q + "lora_A.weight", qShapeA, new float[(int) (qShapeA[0] * qShapeA[1])]);
        w.addFloats(Q + "lora_B.weight", new long[] {128, rank}, new float[128 * rank]);
        w.addFloats(DOWN + "lora_A.weight", new long[] {rank, 384}, new float[rank * 384]);
        w.addFloats(DOWN + "lora_B.weight", new long[] {128, rank}, new float[128 * rank]);
        w.write(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    static String peftConfig(int r, String targets) {
        return "{\"alpha_pattern\": {}, \"auto_mapping\": null, \"base_model_name_or_path\": \"raincandy-u/TinyStories-656K\", "
                + "\"bias\": \"none\", \"fan_in_fan_out\": false, \"inference_mode\": true, \"init_lora_weights\": true, "
                + "\"layers_pattern\": null, \"layers_to_transform\": null, \"lora_alpha\": 16, \"lora_dropout\": 0.05, "
                + "\"modules_to_save\": null, \"peft_type\": \"LORA\", \"r\": " + r + ", \"rank_pattern\": {}, \"revision\": null, "
                + "\"target_modules\": " + targets + ", \"task_type\": \"CAUSAL_LM\", \"use_rslora\": false}";
    }

    @Test
    void aPeftWrittenAdapterLoadsUnchanged(@TempDir Path dir) throws Exception {
        Adapter a = AdapterFiles.read(peftAdapter(dir, peftConfig(8, "[\"down_proj\", \"q_proj\"]"), 8, new long[] {8, 128}), C, 16, null);
        assertEquals(AdapterType.LORA, a.type());
        assertEquals(8, a.rank());
        assertEquals(2f, a.scaling(), "lora_alpha / r");
        assertEquals(2, a.modules().size());
    }

    @Test
    void everyInvalidAdapterIsRejectedWithItsReason(@TempDir Path dir) throws Exception {
        String targets = "[\"q_proj\", \"down_proj\"]";
        expect(peftAdapter(dir.resolve("rank"), peftConfig(32, targets), 32, new long[] {32, 128}), "rank 32 exceeds the configured maximum 16");
        expect(peftAdapter(dir.resolve("target"), peftConfig(8, "[\"q_proj\", \"down_proj\", \"wq\"]"), 8, new long[] {8, 128}),
                "target module 'wq' does not exist");
        expect(peftAdapter(dir.resolve("shape"), peftConfig(8, targets), 8, new long[] {8, 64}), "has shape [8, 64], expected [8, 128]");
        expect(peftAdapter(dir.resolve("untargeted"), peftConfig(8, "[\"q_proj\"]"), 8, new long[] {8, 128}), "is not in target_modules");
        String config = peftConfig(8, targets);
        String withChorus = config.substring(0, config.length() - 1)
                + ", \"chorus\": {\"type\": \"lora\", \"base_fingerprint\": \"sha256:aaaa\"}}";
        Path fingerprinted = peftAdapter(dir.resolve("fp"), withChorus, 8, new long[] {8, 128});
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> AdapterFiles.read(fingerprinted, C, 16, "sha256:bbbb"));
        assertTrue(e.getMessage().contains("made for base sha256:aaaa"), e.getMessage());
        Path noConfig = Files.createDirectories(dir.resolve("none"));
        expect(noConfig, "adapter_config.json: not found");
        Path badJson = peftAdapter(dir.resolve("json"), "{\"r\": 8,", 8, new long[] {8, 128});
        expect(badJson, "not valid JSON");
        Path halfPair = dir.resolve("half");
        Files.createDirectories(halfPair);
        Files.writeString(halfPair.resolve("adapter_config.json"), peftConfig(8, "[\"q_proj\"]"));
        new SafetensorsWriter().addFloats(Q + "lora_A.weight", new long[] {8, 128}, new float[8 * 128]).write(halfPair.resolve("adapter_model.safetensors"));
        expect(halfPair, "needs both lora_A and lora_B");
        Path corrupt = peftAdapter(dir.resolve("corrupt"), peftConfig(8, targets), 8, new long[] {8, 128});
        Files.write(corrupt.resolve("adapter_model.safetensors"), new byte[] {1, 2, 3});
        assertThrows(AdapterFormatException.class, () -> AdapterFiles.read(corrupt, C, 16, null));
    }

    @Test
    void scalingAndRankMustBeExactFiniteNumbers(@TempDir Path dir) throws Exception {
        String good = peftConfig(8, "[\"q_proj\", \"down_proj\"]");
        int i = 0;
        for (String alpha : List.of("\"NaN\"", "\"Infinity\"", "1e309", "-1e309", "\"16\"", "1e7", "true")) {
            Path bad = peftAdapter(dir.resolve("alpha" + i++), good.replace("\"lora_alpha\": 16", "\"lora_alpha\": " + alpha), 8, new long[] {8, 128});
            expect(bad, "lora_alpha must be a finite number");
        }
        // 4294967304 = 2^32 + 8 used to wrap to rank 8 and load.
        for (String r : List.of("4294967304", "2147483648", "8.5", "-8", "\"8\"")) {
            Path bad = peftAdapter(dir.resolve("r" + i++), good.replace("\"r\": 8", "\"r\": " + r), 8, new long[] {8, 128});
            expect(bad, "field r must be a positive integer");
        }
        Path rs = peftAdapter(dir.resolve("rs"), good.replace("\"use_rslora\": false", "\"use_rslora\": \"yes\""), 8, new long[] {8, 128});
        expect(rs, "use_rslora must be true or false");
        Path rsTrue = peftAdapter(dir.resolve("rsTrue"), good.replace("\"use_rslora\": false", "\"use_rslora\": true"), 8, new long[] {8, 128});
        assertEquals((float) (16 / Math.sqrt(8)), AdapterFiles.read(rsTrue, C, 16, null).scaling(), 1e-6f);
    }

    @Test
    void weightsWhoseDeltaCanOverflowAreRefused(@TempDir Path dir) throws Exception {
        // s = 16/8 = 2, r = 8: the bound |s|·r·max|A|·max|B| is 16·a·b; 1e4 is the limit.
        assertEquals(1, AdapterFiles.read(filled(dir.resolve("at"), 25f, 25f), C, 16, null).modules().size(), "16·25·25 = 10000: allowed");
        expect(filled(dir.resolve("over"), 25f, 25.01f), "beyond the limit");
        expect(filled(dir.resolve("huge"), 1e20f, 1e20f), "beyond the limit"); // s·B·A overflows fp32 itself
        expect(filled(dir.resolve("negative"), -1e3f, 1e3f), "beyond the limit");
    }

    /** A rank-8 q_proj adapter (α 16) with every entry of A equal to {@code a} and of B to {@code b}. */
    private static Path filled(Path dir, float a, float b) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), peftConfig(8, "[\"q_proj\"]"));
        float[] as = new float[8 * 128];
        float[] bs = new float[128 * 8];
        Arrays.fill(as, a);
        Arrays.fill(bs, b);
        new SafetensorsWriter().addFloats(Q + "lora_A.weight", new long[] {8, 128}, as).addFloats(Q + "lora_B.weight", new long[] {128, 8}, bs)
                .write(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    /**
     * The fields of PEFT's LoraConfig and its PeftConfig base, as of huggingface/peft commit 00a4d08
     * (src/peft/tuners/lora/config.py, peft/config.py; between v0.13 and v0.14). PEFT warns about
     * any other key in adapter_config.json.
     */
    static final Set<String> PEFT_LORA_CONFIG_FIELDS = Set.of(
            "peft_type", "auto_mapping", "base_model_name_or_path", "revision", "task_type", "inference_mode",
            "r", "target_modules", "exclude_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias", "use_rslora",
            "modules_to_save", "init_lora_weights", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern",
            "megatron_config", "megatron_core", "loftq_config", "use_dora", "layer_replication");

    @Test
    void writtenConfigsHoldOnlyPeftFieldsAndChorusFieldsLiveInTheWeightsHeader(@TempDir Path dir) throws Exception {
        for (AdapterType type : AdapterType.values()) {
            Adapter a = RandomAdapters.generate(C, type, 8, EnumSet.allOf(Projection.class), 0.1, 3, "sha256:cafe");
            Path d = dir.resolve(type.label());
            AdapterFiles.write(a, d);
            JsonNode config = new ObjectMapper().readTree(d.resolve(AdapterFiles.CONFIG).toFile());
            Set<String> keys = new HashSet<>();
            config.fieldNames().forEachRemaining(keys::add);
            Set<String> unknown = new HashSet<>(keys);
            unknown.removeAll(PEFT_LORA_CONFIG_FIELDS);
            assertEquals(Set.of(), unknown, type + ": keys PEFT's LoraConfig does not know");
            try (SafetensorsFile f = SafetensorsFile.open(d.resolve(AdapterFiles.WEIGHTS))) {
                assertEquals(type.label(), f.metadata().get("chorus.kind"));
                assertEquals("sha256:cafe", f.metadata().get("chorus.base_fingerprint"));
                assertEquals("pt", f.metadata().get("format"));
            }
            Adapter back = AdapterFiles.read(d, C, 16, "sha256:cafe");
            assertEquals(a.kind(), back.kind());
            assertEquals("sha256:cafe", back.baseFingerprint());
        }
    }

    /** Before Chorus's fields moved to the weights' header they were a "chorus" block in adapter_config.json; such files still load. */
    @Test
    void adaptersWrittenTheOldWayStillLoad(@TempDir Path dir) throws Exception {
        Path d = Files.createDirectories(dir.resolve("old-qa-lora"));
        Files.writeString(d.resolve(AdapterFiles.CONFIG), "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", \"r\": 4, "
                + "\"lora_alpha\": 8.0, \"lora_dropout\": 0.0, \"bias\": \"none\", \"fan_in_fan_out\": false, \"inference_mode\": true, "
                + "\"use_rslora\": false, \"target_modules\": [\"q_proj\"], "
                + "\"chorus\": {\"type\": \"qa-lora\", \"base_fingerprint\": \"sha256:aaaa\", \"group_size\": 32}}");
        new SafetensorsWriter() // no __metadata__, as the old writer did
                .addFloats(Q + "lora_A.weight", new long[] {4, 128 / 32}, new float[4 * 4])
                .addFloats(Q + "lora_B.weight", new long[] {128, 4}, new float[128 * 4])
                .write(d.resolve(AdapterFiles.WEIGHTS));
        Adapter a = AdapterFiles.read(d, C, 16, "sha256:aaaa");
        assertEquals(new QaLora(4, 8f, 2f, 32), a.kind());
        assertEquals("sha256:aaaa", a.baseFingerprint());
        assertEquals(1, a.modules().size());
        expect(d, "made for base sha256:aaaa", "sha256:bbbb");
    }

    @Test
    void mergedOnlyKindsRefuseTheBatchedSlots() {
        try (NDManager manager = NDManager.newBaseManager();
                AdapterSlots slots = new AdapterSlots(C, new AdapterSlots.Settings(2, 8, EnumSet.allOf(Projection.class)), manager)) {
            for (AdapterType type : List.of(AdapterType.SPARSE_PEFT, AdapterType.QA_SPARSE_PEFT)) {
                Adapter a = RandomAdapters.generate(C, type, 4, EnumSet.allOf(Projection.class), 0.1, 1, null);
                MergedOnlyException e = assertThrows(MergedOnlyException.class, () -> slots.load(1, a));
                assertTrue(e.getMessage().contains("served merged into its base"), e.getMessage());
            }
        }
    }

    private static void expect(Path dir, String message, String servedFingerprint) {
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> AdapterFiles.read(dir, C, 16, servedFingerprint));
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }

    private static void expect(Path dir, String message) {
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> AdapterFiles.read(dir, C, 16, null));
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }
}
