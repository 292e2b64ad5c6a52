package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.Projection;

import java.util.Random;
import org.junit.jupiter.api.Test;

class GptqQuantizerTest {
    private static final int ROWS = 32;
    private static final int COLS = 64;
    private static final int SAMPLES = 512;

    /** X = Z·M: Z [samples, dim] standard normal, M a random [dim, dim] mixing matrix. */
    private static float[][] correlatedInputs(long seed, int samples, int dim) {
        Random rnd = new Random(seed);
        double[][] mix = new double[dim][dim];
        for (double[] row : mix) {
            for (int j = 0; j < dim; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        float[][] x = new float[samples][dim];
        double[] z = new double[dim];
        for (float[] xs : x) {
            for (int k = 0; k < dim; k++) {
                z[k] = rnd.nextGaussian();
            }
            for (int j = 0; j < dim; j++) {
                double v = 0;
                for (int k = 0; k < dim; k++) {
                    v += z[k] * mix[k][j];
                }
                xs[j] = (float) v;
            }
        }
        return x;
    }

    private static double[] identity(int n) {
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            h[i * n + i] = 1;
        }
        return h;
    }

    /** Σ over samples of ‖(W − deq) x‖². */
    private static double outputError(float[] w, float[] deq, int rows, int cols, float[][] x) {
        double total = 0;
        for (float[] xs : x) {
            for (int r = 0; r < rows; r++) {
                double y = 0;
                for (int c = 0; c < cols; c++) {
                    y += ((double) w[r * cols + c] - deq[r * cols + c]) * xs[c];
                }
                total += y * y;
            }
        }
        return total;
    }

    @Test
    void prunedWeightsAreExactlyZeroAndCodesInRange() {
        float[][] x = correlatedInputs(5, 256, COLS);
        ActivationStats stats = new ActivationStats(true);
        stats.onInput(Projection.UP, x);
        float[] w = GroupQuantizerTest.randomWeights(6, ROWS, COLS);
        SparsityMask mask = GroupQuantizerTest.randomHalfMask(7, ROWS, COLS);
        for (QuantSpec spec : new QuantSpec[] {new QuantSpec(4, 32, false), new QuantSpec(4, 64, true), new QuantSpec(8, 32, true)}) {
            QuantizedMatrix q = GptqQuantizer.quantize(w, ROWS, COLS, mask, spec, stats.gram(Projection.UP), 0.01);
            float[] deq = q.dequantize();
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < COLS; c++) {
                    assertTrue(q.code(r, c) <= spec.maxCode());
                    if (!mask.kept(r, c)) {
                        assertEquals(0.0f, deq[r * COLS + c], spec + " (" + r + ", " + c + ")");
                    }
                }
            }
            assertEquals(mask, q.mask());
        }
    }

    @Test
    void identityHessianGivesExactlyTheRoundToNearestCodes() {
        int cols = 200;
        float[] w = GroupQuantizerTest.randomWeights(8, 9, cols);
        SparsityMask mask = GroupQuantizerTest.randomHalfMask(9, 9, cols);
        for (QuantSpec spec : new QuantSpec[] {new QuantSpec(4, 32, false), new QuantSpec(4, 128, true), new QuantSpec(8, 64, false)}) {
            for (double damp : new double[] {0.0, 0.01}) {
                QuantizedMatrix gptq = GptqQuantizer.quantize(w, 9, cols, mask, spec, identity(cols), damp);
                QuantizedMatrix rtn = GroupQuantizer.quantize(w, 9, cols, mask, spec);
                assertArrayEquals(rtn.codes(), gptq.codes(), spec + " damp " + damp);
                assertArrayEquals(rtn.scales(), gptq.scales(), spec + " damp " + damp);
                assertArrayEquals(rtn.zeros(), gptq.zeros(), spec + " damp " + damp);
            }
        }
    }

    @Test
    void beatsRoundToNearestOnCorrelatedInputs() {
        float[][] x = correlatedInputs(2024, SAMPLES, COLS);
        ActivationStats stats = new ActivationStats(true);
        stats.onInput(Projection.Q, x);
        double[] h = stats.gram(Projection.Q);
        // Sanity: the collected Gram matrix is Σ x xᵀ.
        double h01 = 0;
        for (float[] xs : x) {
            h01 += (double) xs[0] * xs[1];
        }
        assertEquals(h01, h[1], 1e-9 * Math.abs(h01) + 1e-9);
        assertEquals(h[1], h[COLS], 0.0);

        float[] w = GroupQuantizerTest.randomWeights(31, ROWS, COLS);
        SparsityMask mask = GroupQuantizerTest.randomHalfMask(32, ROWS, COLS);
        float[] masked = w.clone();
        mask.apply(masked);
        QuantSpec spec = new QuantSpec(4, 32, false);
        double rtn = outputError(masked, GroupQuantizer.quantize(w, ROWS, COLS, mask, spec).dequantize(), ROWS, COLS, x);
        double gptq = outputError(masked, GptqQuantizer.quantize(w, ROWS, COLS, mask, spec, h, 0.01).dequantize(), ROWS, COLS, x);
        System.out.printf("GPTQ vs RTN output error (INT4 g32 asym, 50%% mask): gptq=%.6g rtn=%.6g ratio=%.4f%n", gptq, rtn, gptq / rtn);
        assertTrue(gptq <= 0.9 * rtn, "gptq " + gptq + " vs rtn " + rtn);
    }

    @Test
    void unseenInputsAreZeroedAndWrongHessianRejected() {
        float[] w = GroupQuantizerTest.randomWeights(40, 4, 32);
        double[] h = identity(32);
        h[5 * 32 + 5] = 0; // input 5 never activated
        QuantizedMatrix q = GptqQuantizer.quantize(w, 4, 32, SparsityMask.allKept(4, 32), new QuantSpec(8, 32, false), h, 0.01);
        float[] deq = q.dequantize();
        for (int r = 0; r < 4; r++) {
            assertEquals(0f, deq[r * 32 + 5]);
        }
        assertThrows(IllegalArgumentException.class,
                () -> GptqQuantizer.quantize(w, 4, 32, SparsityMask.allKept(4, 32), new QuantSpec(8, 32, false), new double[31 * 31], 0.01));
    }
}
