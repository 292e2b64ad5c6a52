package dev.chorus.engine.synth;

import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded random weights of a given shape: N(0, 0.02) matrices, unit norms, tied classifier. */
public final class SyntheticCheckpoint {
    private static final double STD = 0.02;

    private SyntheticCheckpoint() {
    }

    public static DenseParameters generate(ModelConfig c, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int dim = c.hiddenSize();
        int kv = c.kvDim();
        int ff = c.intermediateSize();
        float[] embedding = gaussian(random, (long) c.vocabSize() * dim);
        List<DenseParameters.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            layers.add(new DenseParameters.Layer(ones(dim), gaussian(random, (long) dim * dim), gaussian(random, (long) kv * dim),
                    gaussian(random, (long) kv * dim), gaussian(random, (long) dim * dim), ones(dim), gaussian(random, (long) ff * dim),
                    gaussian(random, (long) ff * dim), gaussian(random, (long) dim * ff)));
        }
        return new DenseParameters(c, embedding, layers, ones(dim), embedding);
    }

    private static float[] gaussian(SplittableRandom random, long n) {
        float[] out = new float[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i += 2) {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = 1.0 - random.nextDouble();
            double u2 = random.nextDouble();
            double r = Math.sqrt(-2.0 * Math.log(u1)) * STD;
            out[i] = (float) (r * Math.cos(2 * Math.PI * u2));
            if (i + 1 < out.length) {
                out[i + 1] = (float) (r * Math.sin(2 * Math.PI * u2));
            }
        }
        return out;
    }

    private static float[] ones(int n) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, 1f);
        return out;
    }
}
