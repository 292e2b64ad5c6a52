package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.Projection;
import java.util.Map;
import java.util.Set;

/**
 * One adapter version's weights, per (layer, projection) it targets. For LORA and QA_LORA each
 * module has A and B; for SCALE each module has one scale per output channel.
 */
/**
 * @param scaling the factor s on B·A: α/r, or α/√r for rank-stabilised LoRA
 */
public record Adapter(AdapterType type, int rank, float alpha, float scaling, Set<Projection> targets, Integer groupSize,
        String baseFingerprint, Map<Module, Weights> modules) {

    /** A target module: one projection of one block. */
    public record Module(int layer, Projection projection) {
    }

    /**
     * a: [rank, in] (LORA) or [rank, in/g] (QA_LORA); b: [out, rank]; scales: [out] (SCALE only,
     * a and b null then).
     */
    public record Weights(float[] a, float[] b, float[] scales) {
    }

    public Adapter {
        targets = Set.copyOf(targets);
        modules = Map.copyOf(modules);
    }
}
