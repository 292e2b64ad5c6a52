package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.Projection;
import java.util.Map;
import java.util.Set;

/** One adapter version: its validated config and, per (layer, projection) it targets, its kind's weights. */
public record Adapter(AdapterConfig config, Map<Module, ModuleWeights> modules) {

    /** A target module: one projection of one block. */
    public record Module(int layer, Projection projection) {
    }

    public Adapter {
        modules = Map.copyOf(modules);
        for (ModuleWeights w : modules.values()) {
            try {
                config.kind().values(w);
            } catch (ClassCastException e) {
                throw new IllegalArgumentException("a " + config.kind().type().label() + " adapter cannot hold " + w.getClass().getSimpleName()
                        + " weights");
            }
        }
    }

    public AdapterKind kind() {
        return config.kind();
    }

    public AdapterType type() {
        return config.kind().type();
    }

    public int rank() {
        return config.kind().rank();
    }

    public float alpha() {
        return config.kind().alpha();
    }

    /** The factor s on the delta: α/r, or α/√r for rank-stabilised LoRA. */
    public float scaling() {
        return config.kind().scaling();
    }

    public Set<Projection> targets() {
        return config.targets();
    }

    /** The base this adapter was made for; null when not recorded. */
    public String baseFingerprint() {
        return config.baseFingerprint();
    }
}
