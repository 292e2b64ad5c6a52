package dev.chorus.engine.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.llama.Projection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An adapter's validated description: its kind (with r, α, s and the kind's own parameters), the
 * projections it targets and the base it was made for ({@code baseFingerprint}, null when not
 * recorded). PEFT's fields live in adapter_config.json; Chorus's own (kind, group size, base
 * fingerprint) in the {@code __metadata__} of adapter_model.safetensors, which PEFT ignores, so
 * PEFT loads Chorus's files without warnings. Files from before that move keep Chorus's fields in
 * a {@code chorus} block of adapter_config.json; they still load.
 */
public record AdapterConfig(AdapterKind kind, Set<Projection> targets, String baseFingerprint) {
    static final String KIND = "chorus.kind";
    static final String GROUP_SIZE = "chorus.group_size";
    static final String BASE_FINGERPRINT = "chorus.base_fingerprint";
    private static final String LEGACY_BLOCK = "chorus";
    /** Far beyond any trained adapter's α (PEFT's are up to a few hundred), far below where s·B·A loses meaning. */
    static final double MAX_ALPHA = 1e6;

    public AdapterConfig {
        if (targets.isEmpty()) {
            throw new AdapterFormatException("an adapter targets at least one module");
        }
        targets = Set.copyOf(targets);
    }

    /**
     * Parses and validates PEFT's {@code config} and Chorus's {@code metadata} (the safetensors
     * header's; the old {@code chorus} block of the config when absent); {@code where} prefixes errors.
     */
    static AdapterConfig read(JsonNode config, Map<String, String> metadata, String where) {
        String peftType = config.path("peft_type").asText("LORA");
        if (!"LORA".equals(peftType)) {
            throw new AdapterFormatException(where + ": peft_type " + peftType + " is not supported (LORA only)");
        }
        ChorusFields chorus = new ChorusFields(config.path(LEGACY_BLOCK), metadata);
        AdapterType type;
        try {
            type = AdapterType.parse(chorus.get(KIND, "type").orElse("lora"));
        } catch (IllegalArgumentException e) {
            throw new AdapterFormatException(where + ": " + e.getMessage());
        }
        JsonNode r = config.get("r");
        if (r != null && (!r.isIntegralNumber() || !r.canConvertToInt() || r.intValue() < 0)) {
            throw new AdapterFormatException(where + ": field r must be a positive integer, not " + r);
        }
        float alpha = alpha(config.get("lora_alpha"), r == null ? 0 : r.intValue(), where);
        JsonNode rsLora = config.get("use_rslora");
        if (rsLora != null && !rsLora.isNull() && !rsLora.isBoolean()) {
            throw new AdapterFormatException(where + ": use_rslora must be true or false");
        }
        AdapterKind kind = AdapterKind.of(type, new AdapterKind.Parameters() {
            @Override
            public int rank() {
                if (r == null || r.intValue() < 1) {
                    throw new AdapterFormatException(where + ": field r must be a positive integer");
                }
                return r.intValue();
            }

            @Override
            public float alpha() {
                return alpha;
            }

            @Override
            public float scaling() {
                int rank = rank();
                return (float) (alpha / (rsLora != null && rsLora.asBoolean(false) ? Math.sqrt(rank) : rank));
            }

            @Override
            public int groupSize() {
                Optional<String> g = chorus.get(GROUP_SIZE, "group_size");
                if (g.isEmpty() || !g.get().matches("[1-9]\\d{0,8}")) {
                    throw new AdapterFormatException(where + ": " + type.label() + " adapters need chorus.group_size");
                }
                return Integer.parseInt(g.get());
            }
        });
        return new AdapterConfig(kind, targets(config.path("target_modules"), where), chorus.get(BASE_FINGERPRINT, "base_fingerprint").orElse(null));
    }

    /**
     * lora_alpha as an exact finite number within ±{@link #MAX_ALPHA} (absent: r, PEFT's default);
     * "NaN", "Infinity", 1e309 and strings are refused rather than read as garbage scalings.
     */
    private static float alpha(JsonNode node, int rank, String where) {
        if (node == null || node.isNull()) {
            return rank;
        }
        if (!node.isNumber() || !Double.isFinite(node.doubleValue()) || Math.abs(node.doubleValue()) > MAX_ALPHA) {
            throw new AdapterFormatException(where + ": lora_alpha must be a finite number within ±" + (long) MAX_ALPHA + ", not " + node);
        }
        return node.floatValue();
    }

    /** Chorus's fields: the safetensors header's, else the old adapter_config.json block's. */
    private record ChorusFields(JsonNode legacy, Map<String, String> metadata) {
        Optional<String> get(String key, String legacyKey) {
            if (metadata.containsKey(key)) {
                return Optional.of(metadata.get(key));
            }
            JsonNode n = legacy.get(legacyKey);
            return n == null || n.isNull() ? Optional.empty() : Optional.of(n.asText());
        }
    }

    /** adapter_config.json: PEFT LoraConfig fields only. */
    ObjectNode peftJson(ObjectMapper json) {
        ObjectNode config = json.createObjectNode();
        config.put("peft_type", "LORA");
        config.put("task_type", "CAUSAL_LM");
        config.put("r", kind.rank());
        config.put("lora_alpha", kind.alpha());
        config.put("lora_dropout", 0.0);
        config.put("bias", "none");
        config.put("fan_in_fan_out", false);
        config.put("inference_mode", true);
        config.put("use_rslora", kind.rank() > 0
                && Math.abs(kind.scaling() - kind.alpha() / kind.rank()) > 1e-6 * Math.abs(kind.scaling()));
        var modules = config.putArray("target_modules");
        targets.stream().sorted().forEach(p -> modules.add(p.moduleName()));
        return config;
    }

    /** The safetensors header's {@code __metadata__}: PEFT's "format" and Chorus's own fields. */
    Map<String, String> metadata() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("format", "pt");
        out.put(KIND, kind.type().label());
        out.putAll(kind.metadata());
        if (baseFingerprint != null) {
            out.put(BASE_FINGERPRINT, baseFingerprint);
        }
        return out;
    }

    private static Set<Projection> targets(JsonNode node, String where) {
        if (!node.isArray() || node.isEmpty()) {
            throw new AdapterFormatException(where + ": target_modules must be a non-empty list of module names");
        }
        Set<Projection> out = EnumSet.noneOf(Projection.class);
        for (JsonNode n : node) {
            try {
                out.add(Projection.fromModuleName(n.asText()));
            } catch (IllegalArgumentException e) {
                throw new AdapterFormatException(where + ": target module '" + n.asText() + "' does not exist in a Llama block");
            }
        }
        return out;
    }
}
