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
    /** Quantization group of the random qa-lora adapters; divides every TinyStories/stories* width. */
    public static final int QA_GROUP = 32;

    private RandomAdapters() {
    }

    /**
     * lora / qa-lora: A and B ~ N(0, std²), α = 2r (s = 2); scale: α ~ N(1, std²) per output channel.
     * {@code baseFingerprint} may be null.
     */
    public static Adapter generate(ModelConfig c, AdapterType type, int rank, Set<Projection> targets, double std, long seed,
            String baseFingerprint) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<Adapter.Module, Adapter.Weights> modules = new HashMap<>();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            for (Projection p : targets) {
                int in = p.inFeatures(c);
                int out = p.outFeatures(c);
                Adapter.Weights w = switch (type) {
                    case SCALE -> new Adapter.Weights(null, null, gaussian(rnd, out, 1.0, std));
                    case LORA, SPARSE_PEFT, QA_SPARSE_PEFT -> new Adapter.Weights(gaussian(rnd, rank * in, 0, std),
                            gaussian(rnd, out * rank, 0, std), null);
                    case QA_LORA -> new Adapter.Weights(gaussian(rnd, rank * (in / QA_GROUP), 0, std), gaussian(rnd, out * rank, 0, std), null);
                    case QA_HIRA -> new Adapter.Weights(gaussian(rnd, out / rank * (in / QA_GROUP), 0, std), null, null);
                };
                modules.put(new Adapter.Module(layer, p), w);
            }
        }
        int r = type == AdapterType.SCALE ? 0 : rank;
        return new Adapter(type, r, 2f * Math.max(r, 1), r == 0 ? 0f : 2f, targets, type == AdapterType.QA_LORA || type == AdapterType.QA_HIRA ? QA_GROUP : null,
                baseFingerprint, modules);
    }

    private static float[] gaussian(SplittableRandom rnd, int n, double mean, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (mean + std * rnd.nextGaussian());
        }
        return out;
    }
}
