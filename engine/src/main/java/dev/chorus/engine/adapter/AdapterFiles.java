package dev.chorus.engine.adapter;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.SafetensorsFile;
import dev.chorus.engine.checkpoint.SafetensorsWriter;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT-compatible adapter directories: adapter_config.json (PEFT's LoraConfig fields only) and
 * adapter_model.safetensors with PEFT tensor names
 * (base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight, ...) and Chorus's own fields
 * in its header metadata ({@link AdapterConfig}). Which tensors a module has, and their shapes, is
 * the kind's; everything is validated against the base model before use.
 */
public final class AdapterFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** The largest |entry| of an adapter's delta on one projection; see {@link #checkDeltaBound}. */
    static final double MAX_DELTA = 1e4;
    private static final Pattern NAME = Pattern.compile(
            "base_model\\.model\\.model\\.layers\\.(\\d+)\\.(?:self_attn|mlp)\\.(\\w+_proj)\\.(lora_A|lora_B|chorus_scale)(?:\\.default)?(?:\\.weight)?");

    private AdapterFiles() {
    }

    public static Adapter read(Path dir, ModelConfig base, int maxRank, String baseFingerprint) {
        JsonNode json = readConfig(dir.resolve(CONFIG));
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new AdapterFormatException(dir + ": " + WEIGHTS + " not found");
        }
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            AdapterConfig config = AdapterConfig.read(json, f.metadata(), dir.toString());
            if (config.kind().rank() > maxRank) {
                throw new AdapterFormatException(dir + ": rank " + config.kind().rank() + " exceeds the configured maximum " + maxRank);
            }
            String fingerprint = config.baseFingerprint();
            if (fingerprint != null && baseFingerprint != null && !fingerprint.equals(baseFingerprint)) {
                throw new AdapterFormatException(dir + ": made for base " + fingerprint + ", but the served base is " + baseFingerprint);
            }
            return new Adapter(config, readModules(f, weights, base, config));
        } catch (CheckpointFormatException e) {
            throw new AdapterFormatException(e.getMessage(), e);
        }
    }

    private static Map<Adapter.Module, ModuleWeights> readModules(SafetensorsFile f, Path file, ModelConfig base, AdapterConfig config) {
        AdapterKind kind = config.kind();
        Map<Adapter.Module, float[][]> parts = new HashMap<>(); // values in the kind's tensor order
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
            if (!config.targets().contains(p)) {
                throw new AdapterFormatException(file + ": " + name + " is not in target_modules");
            }
            List<PeftTensor> expected = expected(kind, p, base, file);
            int at = indexOf(expected, m.group(3));
            if (at < 0) {
                throw new AdapterFormatException(file + ": " + name + " does not belong in a " + kind.type().label() + " adapter");
            }
            long[] shape = expected.get(at).shape();
            if (!Arrays.equals(f.info(name).shape(), shape)) {
                throw new AdapterFormatException(file + ": " + name + " has shape " + Arrays.toString(f.info(name).shape()) + ", expected "
                        + Arrays.toString(shape) + " for the base model");
            }
            float[] values = f.readFloats(name);
            for (float v : values) {
                if (!Float.isFinite(v)) {
                    throw new AdapterFormatException(file + ": " + name + " contains a non-finite value");
                }
            }
            parts.computeIfAbsent(new Adapter.Module(layer, p), k -> new float[expected.size()][])[at] = values;
        }
        Map<Adapter.Module, ModuleWeights> modules = new HashMap<>();
        for (var e : parts.entrySet()) {
            Projection p = e.getKey().projection();
            List<float[]> values = Arrays.asList(e.getValue());
            if (values.contains(null)) {
                List<String> roles = expected(kind, p, base, file).stream().map(t -> role(t.suffix())).toList();
                throw new AdapterFormatException(file + ": layer " + e.getKey().layer() + " " + p.moduleName() + " needs "
                        + (roles.size() == 2 ? "both " : "") + String.join(" and ", roles));
            }
            ModuleWeights weights = kind.weights(p, base, values);
            checkDeltaBound(kind, weights, file + ": layer " + e.getKey().layer() + " " + p.moduleName());
            modules.put(e.getKey(), weights);
        }
        if (modules.isEmpty()) {
            throw new AdapterFormatException(file + ": no adapter tensors");
        }
        return modules;
    }

    /**
     * Refuses weights whose delta can leave fp32's useful range: every entry of s·B·A is at most
     * |s|·r·max|A|·max|B| (qa-hira's s·A/g and a scale's factor alike), and beyond {@link #MAX_DELTA}
     * the first activation it multiplies overflows or swamps the base weights (entries of order 1).
     */
    private static void checkDeltaBound(AdapterKind kind, ModuleWeights w, String where) {
        double bound;
        if (w instanceof ModuleWeights.LowRank lr) {
            bound = Math.abs((double) kind.scaling()) * kind.rank() * maxAbs(lr.a()) * maxAbs(lr.b());
        } else if (w instanceof ModuleWeights.HiraFactor h) {
            bound = Math.abs((double) kind.scaling()) * maxAbs(h.a());
        } else {
            bound = maxAbs(((ModuleWeights.ChannelScales) w).scales());
        }
        if (!(bound <= MAX_DELTA)) {
            throw new AdapterFormatException(where + ": the weights can put entries up to " + String.format("%.3g", bound)
                    + " into the delta (|s|·r·max|A|·max|B|), beyond the limit " + String.format("%.0g", MAX_DELTA));
        }
    }

    private static double maxAbs(float[] values) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        return max;
    }

    private static List<PeftTensor> expected(AdapterKind kind, Projection p, ModelConfig base, Path file) {
        try {
            return kind.tensors(p, base);
        } catch (AdapterFormatException e) {
            throw new AdapterFormatException(file + ": " + e.getMessage());
        }
    }

    private static int indexOf(List<PeftTensor> tensors, String role) {
        for (int i = 0; i < tensors.size(); i++) {
            if (role(tensors.get(i).suffix()).equals(role)) {
                return i;
            }
        }
        return -1;
    }

    /** lora_A.weight → lora_A: PEFT names with and without the adapter name and ".weight" match. */
    private static String role(String suffix) {
        return suffix.endsWith(".weight") ? suffix.substring(0, suffix.length() - ".weight".length()) : suffix;
    }

    public static void write(Adapter a, Path dir) {
        try {
            Files.createDirectories(dir);
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(CONFIG).toFile(), a.config().peftJson(JSON));
            SafetensorsWriter out = new SafetensorsWriter();
            a.config().metadata().forEach(out::metadata);
            a.modules().entrySet().stream().sorted(Comparator.comparing((Map.Entry<Adapter.Module, ModuleWeights> e) -> e.getKey().layer())
                    .thenComparing(e -> e.getKey().projection())).forEach(e -> {
                        String prefix = prefix(e.getKey());
                        List<PeftTensor> tensors = a.kind().tensors(e.getValue());
                        List<float[]> values = a.kind().values(e.getValue());
                        for (int i = 0; i < tensors.size(); i++) {
                            out.addFloats(prefix + tensors.get(i).suffix(), tensors.get(i).shape(), values.get(i));
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
}
