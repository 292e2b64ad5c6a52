package dev.chorus.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.InvalidModelException;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face Llama-family checkpoint directories: config.json plus model.safetensors or a sharded
 * model.safetensors.index.json. Handles tied embeddings stored under either name.
 */
public final class HfCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final String EMBED = "model.embed_tokens.weight";
    private static final String LM_HEAD = "lm_head.weight";

    private HfCheckpoint() {
    }

    public static boolean looksLike(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("config.json"));
    }

    public static ModelConfig readConfig(Path dir) {
        Path file = dir.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(file + ": expected a JSON object");
        }
        try {
            int hidden = requiredInt(root, "hidden_size");
            int heads = requiredInt(root, "num_attention_heads");
            return new ModelConfig(
                    hidden,
                    requiredInt(root, "intermediate_size"),
                    heads,
                    optionalInt(root, "num_key_value_heads", heads),
                    requiredInt(root, "num_hidden_layers"),
                    requiredInt(root, "vocab_size"),
                    optionalInt(root, "max_position_embeddings", 2048),
                    (float) optionalDouble(root, "rms_norm_eps", 1e-6),
                    (float) optionalDouble(root, "rope_theta", 10000.0),
                    root.path("tie_word_embeddings").asBoolean(false),
                    optionalInt(root, "bos_token_id", 1),
                    optionalInt(root, "eos_token_id", 2),
                    ropeStyle(root));
        } catch (InvalidModelException e) {
            throw new CheckpointFormatException(file + ": " + e.getMessage());
        }
    }

    public static DenseParameters read(Path dir) {
        ModelConfig config = readConfig(dir);
        try (ShardSet shards = ShardSet.open(dir)) {
            int dim = config.hiddenSize();
            int vocab = config.vocabSize();
            // Tied models may store only one of the two names (TinyStories-656K keeps lm_head only).
            boolean hasEmbed = shards.contains(EMBED);
            boolean hasHead = shards.contains(LM_HEAD);
            if (!hasEmbed && !(hasHead && config.tiedEmbeddings())) {
                throw new CheckpointFormatException(dir + ": no model.embed_tokens.weight"
                        + (hasHead ? " and tie_word_embeddings is false, so lm_head.weight cannot stand in for it" : ""));
            }
            if (!hasHead && !config.tiedEmbeddings()) {
                throw new CheckpointFormatException(dir + ": no lm_head.weight and tie_word_embeddings is false");
            }
            float[] embedding = shards.read(hasEmbed ? EMBED : LM_HEAD, vocab, dim);
            float[] classifier = hasHead && hasEmbed ? shards.read(LM_HEAD, vocab, dim) : embedding;
            List<DenseParameters.Layer> layers = new ArrayList<>();
            int kv = config.kvDim();
            int ff = config.intermediateSize();
            for (int i = 0; i < config.numLayers(); i++) {
                String p = "model.layers." + i + ".";
                layers.add(new DenseParameters.Layer(
                        shards.read(p + "input_layernorm.weight", dim),
                        shards.read(p + "self_attn.q_proj.weight", dim, dim),
                        shards.read(p + "self_attn.k_proj.weight", kv, dim),
                        shards.read(p + "self_attn.v_proj.weight", kv, dim),
                        shards.read(p + "self_attn.o_proj.weight", dim, dim),
                        shards.read(p + "post_attention_layernorm.weight", dim),
                        shards.read(p + "mlp.gate_proj.weight", ff, dim),
                        shards.read(p + "mlp.up_proj.weight", ff, dim),
                        shards.read(p + "mlp.down_proj.weight", dim, ff)));
            }
            float[] norm = shards.read("model.norm.weight", dim);
            return new DenseParameters(config, embedding, layers, norm, classifier);
        }
    }

    /** Our own field: checkpoints converted from llama2.c keep Meta's interleaved RoPE layout. */
    private static RopeStyle ropeStyle(JsonNode root) {
        String style = root.path("chorus_rope_style").asText("half_split");
        return switch (style) {
            case "half_split" -> RopeStyle.HALF_SPLIT;
            case "interleaved" -> RopeStyle.INTERLEAVED;
            default -> throw new CheckpointFormatException("field chorus_rope_style must be half_split or interleaved, got " + style);
        };
    }

    /** Writes a Hugging Face style config.json for {@code c}. */
    public static void writeConfig(ModelConfig c, Path file) throws IOException {
        var root = JSON.createObjectNode();
        root.putArray("architectures").add("LlamaForCausalLM");
        root.put("model_type", "llama");
        root.put("hidden_size", c.hiddenSize());
        root.put("intermediate_size", c.intermediateSize());
        root.put("num_attention_heads", c.numHeads());
        root.put("num_key_value_heads", c.numKvHeads());
        root.put("num_hidden_layers", c.numLayers());
        root.put("vocab_size", c.vocabSize());
        root.put("max_position_embeddings", c.maxPositions());
        root.put("rms_norm_eps", c.rmsNormEps());
        root.put("rope_theta", c.ropeTheta());
        root.put("tie_word_embeddings", c.tiedEmbeddings());
        root.put("bos_token_id", c.bosId());
        root.put("eos_token_id", c.eosId());
        root.put("chorus_rope_style", c.ropeStyle() == RopeStyle.INTERLEAVED ? "interleaved" : "half_split");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    }

    private static int requiredInt(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new CheckpointFormatException("field " + field + " is missing or not an integer");
        }
        return n.intValue();
    }

    private static int optionalInt(JsonNode root, String field, int fallback) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (n.isArray() && n.size() > 0) { // some configs list several eos ids; the first is the canonical one
            n = n.get(0);
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new CheckpointFormatException("field " + field + " is not an integer");
        }
        return n.intValue();
    }

    private static double optionalDouble(JsonNode root, String field, double fallback) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isNumber()) {
            throw new CheckpointFormatException("field " + field + " is not a number");
        }
        return n.doubleValue();
    }

    /** The safetensors files of one checkpoint, single or sharded, addressed by tensor name. */
    private static final class ShardSet implements AutoCloseable {
        private final Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        private final List<SafetensorsFile> files = new ArrayList<>();

        static ShardSet open(Path dir) {
            ShardSet set = new ShardSet();
            try {
                Path single = dir.resolve("model.safetensors");
                Path index = dir.resolve("model.safetensors.index.json");
                if (Files.isRegularFile(single)) {
                    SafetensorsFile f = set.add(single);
                    f.names().forEach(n -> set.byTensor.put(n, f));
                } else if (Files.isRegularFile(index)) {
                    set.openIndex(dir, index);
                } else {
                    throw new CheckpointFormatException(dir + ": neither model.safetensors nor model.safetensors.index.json found");
                }
                return set;
            } catch (RuntimeException e) {
                set.close();
                throw e;
            }
        }

        private void openIndex(Path dir, Path index) {
            JsonNode map;
            try {
                map = JSON.readTree(index.toFile()).path("weight_map");
            } catch (IOException e) {
                throw new CheckpointFormatException(index + ": not valid JSON: " + e.getMessage(), e);
            }
            if (!map.isObject()) {
                throw new CheckpointFormatException(index + ": missing weight_map object");
            }
            Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
            for (var it = map.fields(); it.hasNext(); ) {
                var e = it.next();
                String shardName = e.getValue().asText("");
                if (shardName.isEmpty() || shardName.contains("/") || shardName.contains("\\")) {
                    throw new CheckpointFormatException(index + ": invalid shard file name for " + e.getKey());
                }
                SafetensorsFile shard = opened.computeIfAbsent(shardName, n -> add(dir.resolve(n)));
                if (!shard.contains(e.getKey())) {
                    throw new CheckpointFormatException(index + ": " + e.getKey() + " is mapped to " + shardName + " which does not contain it");
                }
                byTensor.put(e.getKey(), shard);
            }
        }

        private SafetensorsFile add(Path file) {
            if (!Files.isRegularFile(file)) {
                throw new CheckpointFormatException(file + ": shard file not found");
            }
            SafetensorsFile f = SafetensorsFile.open(file);
            files.add(f);
            return f;
        }

        boolean contains(String name) {
            return byTensor.containsKey(name);
        }

        float[] read(String name, long... shape) {
            SafetensorsFile f = byTensor.get(name);
            if (f == null) {
                throw new CheckpointFormatException("tensor " + name + " not found in the checkpoint");
            }
            long[] actual = f.info(name).shape();
            if (!Arrays.equals(actual, shape)) {
                throw new CheckpointFormatException("tensor " + name + " has shape " + Arrays.toString(actual) + ", expected "
                        + Arrays.toString(shape));
            }
            return f.readFloats(name);
        }

        @Override
        public void close() {
            for (SafetensorsFile f : files) {
                f.close();
            }
        }
    }
}
