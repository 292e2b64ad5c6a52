package dev.chorus.engine.adapter;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.SafetensorsFile;
import dev.chorus.engine.checkpoint.SafetensorsWriter;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT-compatible adapter directories: adapter_config.json (peft_type LORA, r, lora_alpha,
 * target_modules, use_rslora, plus our "chorus" block: type, base fingerprint, group size) and
 * adapter_model.safetensors with PEFT tensor names
 * (base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight, ...). Scale adapters store
 * ...q_proj.chorus_scale [out]. Everything is validated against the base model before use.
 */
public final class AdapterFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern NAME = Pattern.compile(
            "base_model\\.model\\.model\\.layers\\.(\\d+)\\.(?:self_attn|mlp)\\.(\\w+_proj)\\.(lora_A|lora_B|chorus_scale)(?:\\.default)?(?:\\.weight)?");

    private AdapterFiles() {
    }

    public static Adapter read(Path dir, ModelConfig base, int maxRank, String baseFingerprint) {
        JsonNode config = readConfig(dir.resolve(CONFIG));
        JsonNode chorus = config.path("chorus");
        if (!"LORA".equals(config.path("peft_type").asText("LORA"))) {
            throw new AdapterFormatException(dir + ": peft_type " + config.path("peft_type").asText() + " is not supported (LORA only)");
        }
        AdapterType type;
        try {
            type = AdapterType.parse(chorus.path("type").asText("lora"));
        } catch (IllegalArgumentException e) {
            throw new AdapterFormatException(dir + ": " + e.getMessage());
        }
        int rank = positiveInt(config, "r", dir, type == AdapterType.SCALE);
        if (rank > maxRank) {
            throw new AdapterFormatException(dir + ": rank " + rank + " exceeds the configured maximum " + maxRank);
        }
        float alpha = (float) config.path("lora_alpha").asDouble(rank);
        boolean rsLora = config.path("use_rslora").asBoolean(false);
        float scaling = rank == 0 ? 0f : (float) (alpha / (rsLora ? Math.sqrt(rank) : rank));
        Set<Projection> targets = targets(config.path("target_modules"), dir);
        Integer groupSize = chorus.hasNonNull("group_size") ? chorus.get("group_size").asInt() : null;
        if ((type == AdapterType.QA_LORA || type == AdapterType.QA_HIRA) && (groupSize == null || groupSize < 1)) {
            throw new AdapterFormatException(dir + ": " + type.label() + " adapters need chorus.group_size");
        }
        String fingerprint = chorus.hasNonNull("base_fingerprint") ? chorus.get("base_fingerprint").asText() : null;
        if (fingerprint != null && baseFingerprint != null && !fingerprint.equals(baseFingerprint)) {
            throw new AdapterFormatException(dir + ": made for base " + fingerprint + ", but the served base is " + baseFingerprint);
        }
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new AdapterFormatException(dir + ": " + WEIGHTS + " not found");
        }
        Map<Adapter.Module, Adapter.Weights> modules = readModules(weights, base, type, rank, groupSize, targets);
        return new Adapter(type, rank, alpha, scaling, targets, groupSize, fingerprint, modules);
    }

    private static Map<Adapter.Module, Adapter.Weights> readModules(Path file, ModelConfig base, AdapterType type, int rank, Integer groupSize,
            Set<Projection> targets) {
        Map<Adapter.Module, float[][]> parts = new HashMap<>(); // {a, b, scales}
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) {
                    throw new AdapterFormatException(file + ": unexpected tensor " + name);
                }
                int layer = Integer.parseInt(m.group(1));
                Projection p;
                try {
                    p = Projection.fromModuleName(m.group(2));
                } catch (IllegalArgumentException e) {
                    throw new AdapterFormatException(file + ": " + name + ": " + e.getMessage());
                }
                if (layer >= base.numLayers()) {
                    throw new AdapterFormatException(file + ": " + name + " targets layer " + layer + " but the base has " + base.numLayers());
                }
                if (!targets.contains(p)) {
                    throw new AdapterFormatException(file + ": " + name + " is not in target_modules");
                }
                int in = p.inFeatures(base);
                int out = p.outFeatures(base);
                String kind = m.group(3);
                long[] expected = switch (kind) {
                    case "lora_A" -> type == AdapterType.QA_HIRA ? new long[] {out / rank, in / groupSize}
                            : new long[] {rank, type == AdapterType.QA_LORA ? in / groupSize : in};
                    case "lora_B" -> new long[] {out, rank};
                    default -> new long[] {out};
                };
                if ((type == AdapterType.QA_LORA || type == AdapterType.QA_HIRA) && in % groupSize != 0) {
                    throw new AdapterFormatException(file + ": " + p.moduleName() + " has " + in + " inputs, not a multiple of group size " + groupSize);
                }
                if (type == AdapterType.QA_HIRA && (out % rank != 0 || kind.equals("lora_B"))) {
                    throw new AdapterFormatException(file + ": " + name + ": a qa-hira adapter has one lora_A [out/o, in/g] per module, with o = r = "
                            + rank + " dividing " + out);
                }
                if ((type == AdapterType.SCALE) != kind.equals("chorus_scale")) {
                    throw new AdapterFormatException(file + ": " + name + " does not belong in a " + type.label() + " adapter");
                }
                if (!java.util.Arrays.equals(f.info(name).shape(), expected)) {
                    throw new AdapterFormatException(file + ": " + name + " has shape " + java.util.Arrays.toString(f.info(name).shape())
                            + ", expected " + java.util.Arrays.toString(expected) + " for the base model");
                }
                float[] values;
                try {
                    values = f.readFloats(name);
                } catch (CheckpointFormatException e) {
                    throw new AdapterFormatException(e.getMessage(), e);
                }
                for (float v : values) {
                    if (!Float.isFinite(v)) {
                        throw new AdapterFormatException(file + ": " + name + " contains a non-finite value");
                    }
                }
                float[][] slot = parts.computeIfAbsent(new Adapter.Module(layer, p), k -> new float[3][]);
                slot[kind.equals("lora_A") ? 0 : kind.equals("lora_B") ? 1 : 2] = values;
            }
        } catch (CheckpointFormatException e) {
            throw new AdapterFormatException(e.getMessage(), e);
        }
        Map<Adapter.Module, Adapter.Weights> modules = new HashMap<>();
        for (var e : parts.entrySet()) {
            float[][] v = e.getValue();
            if (type != AdapterType.SCALE && (v[0] == null || (v[1] == null && type != AdapterType.QA_HIRA))) {
                throw new AdapterFormatException(file + ": layer " + e.getKey().layer() + " " + e.getKey().projection().moduleName()
                        + " needs both lora_A and lora_B");
            }
            modules.put(e.getKey(), new Adapter.Weights(v[0], v[1], v[2]));
        }
        if (modules.isEmpty()) {
            throw new AdapterFormatException(file + ": no adapter tensors");
        }
        return modules;
    }

    public static void write(Adapter a, Path dir) {
        if (a.type() == AdapterType.QA_HIRA) {
            throw new IllegalArgumentException("qa-hira adapters are written with their base's shapes: write(adapter, dir, config)");
        }
        write(a, dir, null);
    }

    /** {@code base} gives the module shapes qa-hira needs (null for the other types). */
    public static void write(Adapter a, Path dir, ModelConfig base) {
        try {
            Files.createDirectories(dir);
            ObjectNode config = JSON.createObjectNode();
            config.put("peft_type", "LORA");
            config.put("task_type", "CAUSAL_LM");
            config.put("r", a.rank());
            config.put("lora_alpha", a.alpha());
            config.put("lora_dropout", 0.0);
            config.put("bias", "none");
            config.put("fan_in_fan_out", false);
            config.put("inference_mode", true);
            config.put("use_rslora", a.rank() > 0 && Math.abs(a.scaling() - a.alpha() / a.rank()) > 1e-6 * Math.abs(a.scaling()));
            var modules = config.putArray("target_modules");
            a.targets().stream().sorted().forEach(p -> modules.add(p.moduleName()));
            ObjectNode chorus = config.putObject("chorus");
            chorus.put("type", a.type().label());
            if (a.baseFingerprint() != null) {
                chorus.put("base_fingerprint", a.baseFingerprint());
            }
            if (a.groupSize() != null) {
                chorus.put("group_size", a.groupSize());
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(CONFIG).toFile(), config);
            SafetensorsWriter out = new SafetensorsWriter();
            a.modules().entrySet().stream().sorted(java.util.Comparator.comparing((Map.Entry<Adapter.Module, Adapter.Weights> e) -> e.getKey().layer())
                    .thenComparing(e -> e.getKey().projection())).forEach(e -> {
                        String prefix = prefix(e.getKey());
                        Adapter.Weights w = e.getValue();
                        if (w.scales() != null) {
                            out.addFloats(prefix + "chorus_scale", new long[] {w.scales().length}, w.scales());
                        } else if (a.type() == AdapterType.QA_HIRA) {
                            long cols = e.getKey().projection().inFeatures(base) / a.groupSize();
                            out.addFloats(prefix + "lora_A.weight", new long[] {w.a().length / cols, cols}, w.a());
                        } else {
                            out.addFloats(prefix + "lora_A.weight", new long[] {a.rank(), w.a().length / a.rank()}, w.a());
                            out.addFloats(prefix + "lora_B.weight", new long[] {w.b().length / a.rank(), a.rank()}, w.b());
                        }
                    });
            out.write(dir.resolve(WEIGHTS));
        } catch (IOException e) {
            throw new AdapterFormatException(dir + ": cannot write adapter: " + e.getMessage(), e);
        }
    }

    static String prefix(Adapter.Module m) {
        String group = switch (m.projection()) {
            case Q, K, V, O -> "self_attn.";
            case GATE, UP, DOWN -> "mlp.";
        };
        return "base_model.model.model.layers." + m.layer() + "." + group + m.projection().moduleName() + ".";
    }

    private static JsonNode readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new AdapterFormatException(file + ": not found");
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new AdapterFormatException(file + ": expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new AdapterFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static int positiveInt(JsonNode config, String field, Path dir, boolean zeroAllowed) {
        JsonNode n = config.get(field);
        if (n == null && zeroAllowed) {
            return 0;
        }
        if (n == null || !n.isIntegralNumber() || n.asInt() < (zeroAllowed ? 0 : 1)) {
            throw new AdapterFormatException(dir + ": field " + field + " must be a positive integer");
        }
        return n.asInt();
    }

    private static Set<Projection> targets(JsonNode node, Path dir) {
        if (!node.isArray() || node.isEmpty()) {
            throw new AdapterFormatException(dir + ": target_modules must be a non-empty list of module names");
        }
        Set<Projection> out = EnumSet.noneOf(Projection.class);
        for (JsonNode n : node) {
            try {
                out.add(Projection.fromModuleName(n.asText()));
            } catch (IllegalArgumentException e) {
                throw new AdapterFormatException(dir + ": target module '" + n.asText() + "' does not exist in a Llama block");
            }
        }
        return out;
    }
}
