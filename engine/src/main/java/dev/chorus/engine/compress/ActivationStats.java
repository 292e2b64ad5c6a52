package dev.chorus.engine.compress;

import dev.chorus.engine.llama.ActivationObserver;
import dev.chorus.engine.llama.Projection;
import java.util.EnumMap;
import java.util.Map;

/**
 * Calibration statistics per projection of one block: Σ x_j² per input column (Wanda's ‖X_j‖₂)
 * and, when asked, the Gram matrix Σ x xᵀ [in, in] that GPTQ uses as its Hessian.
 */
public final class ActivationStats implements ActivationObserver {
    private final boolean gram;
    private final Map<Projection, double[]> squares = new EnumMap<>(Projection.class);
    private final Map<Projection, double[]> grams = new EnumMap<>(Projection.class);

    public ActivationStats(boolean collectGram) {
        this.gram = collectGram;
    }

    @Override
    public void onInput(Projection p, float[][] inputs) {
        int in = inputs[0].length;
        double[] sq = squares.computeIfAbsent(p, k -> new double[in]);
        double[] g = gram ? grams.computeIfAbsent(p, k -> new double[in * in]) : null;
        for (float[] x : inputs) {
            for (int j = 0; j < in; j++) {
                sq[j] += (double) x[j] * x[j];
            }
            if (g != null) {
                for (int i = 0; i < in; i++) {
                    double xi = x[i];
                    if (xi == 0) {
                        continue;
                    }
                    int row = i * in;
                    for (int j = 0; j < in; j++) {
                        g[row + j] += xi * x[j];
                    }
                }
            }
        }
    }

    /** ‖X_j‖₂ over all calibration tokens, per input column. */
    public double[] inputNorms(Projection p) {
        double[] sq = require(squares, p);
        double[] out = new double[sq.length];
        for (int j = 0; j < sq.length; j++) {
            out[j] = Math.sqrt(sq[j]);
        }
        return out;
    }

    /** Σ x xᵀ, row-major [in, in]. */
    public double[] gram(Projection p) {
        if (!gram) {
            throw new IllegalStateException("Gram matrices were not collected");
        }
        return require(grams, p);
    }

    private static double[] require(Map<Projection, double[]> m, Projection p) {
        double[] v = m.get(p);
        if (v == null) {
            throw new IllegalStateException("no activations were observed for " + p.moduleName());
        }
        return v;
    }
}
