package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Seeded random adapters of a given shape, for benchmarks, demos and tests that need an adapter
 * which visibly changes the output without training one first.
 */
public final class RandomAdapters {
    /** Quantization group of the random qa-lora and qa-hira adapters; divides every TinyStories/stories* width. */
    public static final int QA_GROUP = 32;

    private RandomAdapters() {
    }

    /**
     * lora-like kinds: A and B ~ N(0, std²), α = 2r (s = 2); scale: α ~ N(1, std²) per output channel.
     * {@code baseFingerprint} may be null.
     */
    public static Adapter generate(ModelConfig c, AdapterType type, int rank, Set<Projection> targets, double std, long seed,
            String baseFingerprint) {
        AdapterKind kind = AdapterKind.of(type, rank, 2f * rank, () -> QA_GROUP);
        return generate(c, kind, targets, std, seed, baseFingerprint);
    }

    public static Adapter generate(ModelConfig c, AdapterKind kind, Set<Projection> targets, double std, long seed, String baseFingerprint) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<Adapter.Module, ModuleWeights> modules = new HashMap<>();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            for (Projection p : targets) {
                modules.put(new Adapter.Module(layer, p), kind.random(p, c, rnd, std));
            }
        }
        return new Adapter(new AdapterConfig(kind, targets, baseFingerprint), modules);
    }
}
