package dev.chorus.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The host kernels (fp32 and bf16 copies) against a plain double-precision product of the weights
 * they hold, on shapes that leave partial panels and odd batches.
 */
class HostMatrixTest {
    private static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextFloat() * 2 - 1;
        }
        return a;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void productsEqualThePlainProduct(boolean bf16) {
        Random r = new Random(7);
        try (KernelThreads threads = new KernelThreads(2)) {
            for (int[] shape : new int[][] {{1, 1}, {5, 3}, {16, 8}, {17, 9}, {33, 100}, {40, 288}, {4100, 300}}) {
                int out = shape[0];
                int in = shape[1];
                float[] w = random(out * in, r);
                HostLinear m = new HostCopies(threads, bf16).of(w, out, in);
                if (bf16) { // the oracle multiplies what the copy holds: each weight rounded to bf16
                    for (int i = 0; i < w.length; i++) {
                        w[i] = Float.intBitsToFloat(HostBf16Matrix.toBf16(w[i]) << 16);
                    }
                }
                for (int rows = 1; rows <= 9; rows++) {
                    float[] x = random(rows * in, r);
                    float[] y = new float[rows * out];
                    Arrays.fill(y, Float.NaN); // every output must be written
                    m.multiply(x, rows, y);
                    for (int t = 0; t < rows; t++) {
                        for (int o = 0; o < out; o++) {
                            double expected = 0;
                            for (int j = 0; j < in; j++) {
                                expected += (double) w[o * in + j] * x[t * in + j];
                            }
                            assertEquals(expected, y[t * out + o], 1e-5 * Math.sqrt(in), out + "×" + in + " rows " + rows + " y[" + t + ", " + o + "]");
                        }
                    }
                }
            }
        }
    }

    /** Each output is one chain over j whatever the batch: a row's result is the same bits alone and among others (and split over threads). */
    @Test
    void aRowsProductDoesNotDependOnTheBatch() {
        Random r = new Random(8);
        int out = 4100;
        int in = 300;
        float[] w = random(out * in, r);
        try (KernelThreads one = new KernelThreads(1); KernelThreads two = new KernelThreads(2)) {
            HostMatrix single = new HostMatrix(w, out, in, one);
            HostMatrix split = new HostMatrix(w, out, in, two);
            float[] x = random(7 * in, r);
            float[] all = new float[7 * out];
            split.multiply(x, 7, all);
            for (int t = 0; t < 7; t++) {
                float[] alone = new float[out];
                single.multiply(Arrays.copyOfRange(x, t * in, (t + 1) * in), 1, alone);
                assertArrayEquals(alone, Arrays.copyOfRange(all, t * out, (t + 1) * out), "row " + t);
            }
        }
    }
}
