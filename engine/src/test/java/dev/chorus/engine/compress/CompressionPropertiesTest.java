package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.Int4Packing;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The promises of pruning and quantization, on random matrices and hand-computed cases. */
class CompressionPropertiesTest {
    static float[] random(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        return w;
    }

    static SparsityMask halfMask(int rows, int cols, long seed) {
        return Pruner.magnitude(random(rows * cols, seed), rows, cols, new SparsityPattern.Unstructured(0.5));
    }

    @Test
    void unstructuredPrunesExactlyTheFractionOfEveryRow() {
        int rows = 37;
        int cols = 64;
        double[] norms = new double[cols];
        SplittableRandom rnd = new SplittableRandom(3);
        for (int j = 0; j < cols; j++) {
            norms[j] = 0.1 + rnd.nextDouble() * 10;
        }
        for (double f : new double[] {0.5, 0.3, 0.75}) {
            SparsityMask m = Pruner.wanda(random(rows * cols, 1), rows, cols, norms, new SparsityPattern.Unstructured(f));
            for (int r = 0; r < rows; r++) {
                int pruned = 0;
                for (int c = 0; c < cols; c++) {
                    pruned += m.kept(r, c) ? 0 : 1;
                }
                assertEquals((int) Math.floor(f * cols), pruned, "row " + r + " at " + f);
            }
        }
    }

    @Test
    void nOfMKeepsExactlyNInEveryGroupOfM() {
        for (int[] nm : new int[][] {{2, 4}, {4, 8}}) {
            SparsityMask m = Pruner.magnitude(random(16 * 64, 2), 16, 64, new SparsityPattern.NOfM(nm[0], nm[1]));
            for (int r = 0; r < 16; r++) {
                for (int g = 0; g < 64; g += nm[1]) {
                    int kept = 0;
                    for (int c = g; c < g + nm[1]; c++) {
                        kept += m.kept(r, c) ? 1 : 0;
                    }
                    assertEquals(nm[0], kept);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Pruner.magnitude(random(60, 1), 2, 30, new SparsityPattern.NOfM(2, 4)));
    }

    @Test
    void wandaKeepsASmallWeightOnAHugeInputThatMagnitudeDrops() {
        float[] w = {0.1f, 1f, 2f, 3f};
        double[] norms = {100, 1, 1, 1}; // scores 10, 1, 2, 3
        SparsityPattern half = new SparsityPattern.Unstructured(0.5);
        SparsityMask wanda = Pruner.wanda(w, 1, 4, norms, half);
        SparsityMask magnitude = Pruner.magnitude(w, 1, 4, half);
        assertArrayEquals(new boolean[] {true, false, false, true}, row(wanda, 4));
        assertArrayEquals(new boolean[] {false, false, true, true}, row(magnitude, 4));
        assertThrows(IllegalArgumentException.class, () -> SparsityPattern.parse("1.0"));
        assertThrows(IllegalArgumentException.class, () -> SparsityPattern.parse("4:2"));
        assertThrows(IllegalArgumentException.class, () -> SparsityPattern.parse("half"));
    }

    static boolean[] row(SparsityMask m, int cols) {
        boolean[] out = new boolean[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = m.kept(0, c);
        }
        return out;
    }

    @Test
    void roundToNearestStaysWithinHalfAStepAndPrunedWeightsAreExactlyZero() {
        int rows = 12;
        int cols = 200; // not a multiple of any group size
        float[] w = random(rows * cols, 5);
        SparsityMask mask = halfMask(rows, cols, 6);
        for (int bits : new int[] {4, 8}) {
            for (int g : new int[] {32, 64, 128}) {
                for (boolean sym : new boolean[] {false, true}) {
                    QuantSpec spec = new QuantSpec(bits, g, sym);
                    QuantizedMatrix q = GroupQuantizer.quantize(w, rows, cols, mask, spec);
                    float[] d = q.dequantize();
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            int i = r * cols + c;
                            assertTrue(q.code(r, c) <= spec.maxCode());
                            if (!mask.kept(r, c)) {
                                assertEquals(0.0f, d[i], "pruned entry must dequantize to exactly 0");
                            } else {
                                double s = q.scale(r, c / g);
                                assertTrue(Math.abs(w[i] - d[i]) <= s / 2 + 1e-6 * Math.abs(w[i]) + 1e-12,
                                        spec + ": |w - deq| = " + Math.abs(w[i] - d[i]) + " > s/2 = " + s / 2);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void handComputedAsymmetricInt4Group() {
        // min -1, max 2 → s = 3/15 = 0.2, z = round(1/0.2) = 5; codes round(w/s) + z.
        QuantizedMatrix q = GroupQuantizer.quantize(new float[] {-1f, 0f, 0.4f, 2f}, 1, 4, SparsityMask.allKept(1, 4),
                new QuantSpec(4, 32, false));
        assertEquals(0.2f, q.scale(0, 0), 1e-7);
        assertEquals(5, q.zero(0, 0));
        assertArrayEquals(new int[] {0, 5, 7, 15}, new int[] {q.code(0, 0), q.code(0, 1), q.code(0, 2), q.code(0, 3)});
    }

    @Test
    void int4PackingRoundTripsAndUsesLowNibbleFirst() {
        SplittableRandom rnd = new SplittableRandom(8);
        for (int cols : new int[] {8, 7, 1}) {
            byte[] codes = new byte[3 * cols];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) rnd.nextInt(16);
            }
            assertArrayEquals(codes, Int4Packing.unpack(Int4Packing.pack(codes, 3, cols), 3, cols));
        }
        assertArrayEquals(new byte[] {(byte) 0x21, 0x03}, Int4Packing.pack(new byte[] {1, 2, 3}, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.pack(new byte[] {16}, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.unpack(new byte[3], 1, 3));
    }

    @Test
    void gptqKeepsTheMaskEqualsRtnWithoutCorrelationAndBeatsItWithCorrelation() {
        int rows = 32;
        int cols = 64;
        float[] w = random(rows * cols, 9);
        SparsityMask mask = halfMask(rows, cols, 10);
        QuantSpec spec = new QuantSpec(4, 32, false);
        double[] identity = new double[cols * cols];
        for (int j = 0; j < cols; j++) {
            identity[j * cols + j] = 1;
        }
        QuantizedMatrix diagonal = GptqQuantizer.quantize(w, rows, cols, mask, spec, identity, 0.01);
        QuantizedMatrix rtn = GroupQuantizer.quantize(w, rows, cols, mask, spec);
        assertArrayEquals(rtn.codes(), diagonal.codes(), "no correlation: nothing to compensate");

        // Correlated inputs x = M z: error compensation must lower the output error ‖(W − Ŵ)x‖².
        SplittableRandom rnd = new SplittableRandom(11);
        double[][] mix = new double[cols][cols];
        for (double[] row : mix) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        int samples = 512;
        double[][] x = new double[samples][cols];
        double[] hessian = new double[cols * cols];
        for (double[] xs : x) {
            double[] z = new double[cols];
            for (int j = 0; j < cols; j++) {
                z[j] = rnd.nextGaussian();
            }
            for (int i = 0; i < cols; i++) {
                for (int j = 0; j < cols; j++) {
                    xs[i] += mix[i][j] * z[j];
                }
            }
            for (int i = 0; i < cols; i++) {
                for (int j = 0; j < cols; j++) {
                    hessian[i * cols + j] += xs[i] * xs[j];
                }
            }
        }
        QuantizedMatrix gptq = GptqQuantizer.quantize(w, rows, cols, mask, spec, hessian, 0.01);
        float[] dg = gptq.dequantize();
        float[] dr = rtn.dequantize();
        for (int i = 0; i < w.length; i++) {
            if (!mask.kept(i / cols, i % cols)) {
                assertEquals(0f, dg[i]);
            }
        }
        float[] pruned = w.clone(); // quantization error is measured against the pruned weights both methods start from
        mask.apply(pruned);
        double errGptq = outputError(pruned, dg, x, rows, cols);
        double errRtn = outputError(pruned, dr, x, rows, cols);
        assertTrue(errGptq <= 0.9 * errRtn, "GPTQ output error " + errGptq + " vs RTN " + errRtn);
    }

    static double outputError(float[] w, float[] d, double[][] x, int rows, int cols) {
        double total = 0;
        for (double[] xs : x) {
            for (int r = 0; r < rows; r++) {
                double e = 0;
                for (int c = 0; c < cols; c++) {
                    e += (w[r * cols + c] - d[r * cols + c]) * xs[c];
                }
                total += e * e;
            }
        }
        return total;
    }

    @Test
    void binaryCodingErrorStrictlyFallsFromTwoToFourPlanesAndPrunedStayZero() {
        int rows = 16;
        int cols = 96;
        float[] w = random(rows * cols, 12);
        SparsityMask mask = halfMask(rows, cols, 13);
        double previous = Double.MAX_VALUE;
        for (int q = 2; q <= 4; q++) {
            BinaryCodedMatrix b = BinaryCodingQuantizer.quantize(w, rows, cols, mask, q, 10);
            double refined = squaredError(w, b.dequantize(), mask, cols);
            double greedy = squaredError(w, BinaryCodingQuantizer.quantize(w, rows, cols, mask, q, 0).dequantize(), mask, cols);
            assertTrue(refined <= greedy + 1e-9, "refinement must not increase the error at q=" + q);
            assertTrue(refined < previous, "error at q=" + q + " (" + refined + ") must be below q=" + (q - 1) + " (" + previous + ")");
            previous = refined;
            float[] d = b.dequantize();
            for (int i = 0; i < d.length; i++) {
                if (!mask.kept(i / cols, i % cols)) {
                    assertEquals(0f, d[i]);
                }
            }
        }
        // q = 1 without refinement: sign(w)·mean|w| of the row.
        BinaryCodedMatrix one = BinaryCodingQuantizer.quantize(new float[] {1f, -3f, 2f, -2f}, 1, 4, SparsityMask.allKept(1, 4), 1, 0);
        assertArrayEquals(new float[] {2f, -2f, 2f, -2f}, one.dequantize());
    }

    static double squaredError(float[] w, float[] d, SparsityMask mask, int cols) {
        double e = 0;
        for (int i = 0; i < w.length; i++) {
            if (mask.kept(i / cols, i % cols)) {
                e += (w[i] - d[i]) * (double) (w[i] - d[i]);
            }
        }
        return e;
    }
}
