package dev.chorus.engine.adapter;

import dev.chorus.engine.compress.Projection;
import dev.chorus.engine.model.ModelConfig;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Random adapters of every type for tests. */
public final class BatchedAdapterForwardTestSupport {
    private BatchedAdapterForwardTestSupport() {
    }

    public static Adapter randomAdapter(ModelConfig c, AdapterType type, int rank, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<Adapter.Module, Adapter.Weights> modules = new HashMap<>();
        int g = 32;
        for (int layer = 0; layer < c.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                int in = p.inFeatures(c);
                int out = p.outFeatures(c);
                if (type == AdapterType.SCALE) {
                    float[] s = new float[out];
                    for (int o = 0; o < out; o++) {
                        s[o] = (float) (1 + 0.2 * rnd.nextGaussian());
                    }
                    modules.put(new Adapter.Module(layer, p), new Adapter.Weights(null, null, s));
                } else {
                    int cols = type == AdapterType.QA_LORA ? in / g : in;
                    modules.put(new Adapter.Module(layer, p), new Adapter.Weights(gaussian(rnd, rank * cols, 0.1), gaussian(rnd, out * rank, 0.1), null));
                }
            }
        }
        int r = type == AdapterType.SCALE ? 0 : rank;
        return new Adapter(type, r, 2f * Math.max(r, 1), r == 0 ? 0f : 2f, EnumSet.allOf(Projection.class),
                type == AdapterType.QA_LORA ? g : null, null, modules);
    }

    static float[] gaussian(SplittableRandom rnd, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (std * rnd.nextGaussian());
        }
        return out;
    }
}
