package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.SparsityMask;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PrunerTest {
    private static final int ROWS = 37;
    private static final int COLS = 64;

    private static float[] randomMatrix(long seed, int rows, int cols) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        return w;
    }

    private static double[] randomNorms(long seed, int cols) {
        Random rnd = new Random(seed);
        double[] n = new double[cols];
        for (int i = 0; i < cols; i++) {
            n[i] = 0.1 + 10 * rnd.nextDouble();
        }
        return n;
    }

    @ParameterizedTest
    @CsvSource({"0.5, 32", "0.3, 19"})
    void unstructuredPrunesExactlyFloorOfFractionInEveryRow(double fraction, int expectedPruned) {
        float[] w = randomMatrix(11, ROWS, COLS);
        double[] norms = randomNorms(12, COLS);
        SparsityPattern pattern = SparsityPattern.parse(Double.toString(fraction));
        for (SparsityMask mask : new SparsityMask[] {
                Pruner.wanda(w, ROWS, COLS, norms, pattern), Pruner.magnitude(w, ROWS, COLS, pattern)}) {
            assertEquals(ROWS, mask.rows());
            assertEquals(COLS, mask.cols());
            for (int r = 0; r < ROWS; r++) {
                int pruned = 0;
                for (int c = 0; c < COLS; c++) {
                    pruned += mask.kept(r, c) ? 0 : 1;
                }
                assertEquals(expectedPruned, pruned, "row " + r);
            }
            assertEquals((long) ROWS * (COLS - expectedPruned), mask.keptCount());
        }
        // Wanda keeps the highest scores of each row.
        SparsityMask mask = Pruner.wanda(w, ROWS, COLS, norms, pattern);
        for (int r = 0; r < ROWS; r++) {
            double minKept = Double.POSITIVE_INFINITY;
            double maxPruned = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < COLS; c++) {
                double s = Math.abs(w[r * COLS + c]) * norms[c];
                if (mask.kept(r, c)) {
                    minKept = Math.min(minKept, s);
                } else {
                    maxPruned = Math.max(maxPruned, s);
                }
            }
            assertTrue(minKept >= maxPruned, "row " + r);
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 4", "4, 8"})
    void nOfMKeepsExactlyNInEveryGroup(int n, int m) {
        float[] w = randomMatrix(21, ROWS, COLS);
        double[] norms = randomNorms(22, COLS);
        SparsityPattern pattern = SparsityPattern.parse(n + ":" + m);
        assertEquals(new SparsityPattern.NOfM(n, m), pattern);
        for (boolean useWanda : new boolean[] {true, false}) {
            SparsityMask mask = useWanda ? Pruner.wanda(w, ROWS, COLS, norms, pattern) : Pruner.magnitude(w, ROWS, COLS, pattern);
            for (int r = 0; r < ROWS; r++) {
                for (int g = 0; g < COLS; g += m) {
                    int kept = 0;
                    double minKept = Double.POSITIVE_INFINITY;
                    double maxPruned = Double.NEGATIVE_INFINITY;
                    for (int c = g; c < g + m; c++) {
                        double s = Math.abs(w[r * COLS + c]) * (useWanda ? norms[c] : 1.0);
                        if (mask.kept(r, c)) {
                            kept++;
                            minKept = Math.min(minKept, s);
                        } else {
                            maxPruned = Math.max(maxPruned, s);
                        }
                    }
                    assertEquals(n, kept, "row " + r + " group " + g);
                    assertTrue(minKept >= maxPruned, "row " + r + " group " + g);
                }
            }
            assertEquals((long) ROWS * COLS * n / m, mask.keptCount());
        }
    }

    @Test
    void nOfMRejectsColsNotDivisibleByM() {
        float[] w = randomMatrix(3, 2, 10);
        assertThrows(IllegalArgumentException.class, () -> Pruner.magnitude(w, 2, 10, SparsityPattern.parse("4:8")));
        assertThrows(IllegalArgumentException.class, () -> Pruner.wanda(w, 2, 10, new double[10], new SparsityPattern.NOfM(4, 8)));
        float[] w2 = randomMatrix(3, 2, 6);
        assertThrows(IllegalArgumentException.class, () -> Pruner.magnitude(w2, 2, 6, SparsityPattern.parse("2:4")));
    }

    @Test
    void wandaRejectsWrongNormCount() {
        float[] w = randomMatrix(3, 2, 8);
        assertThrows(IllegalArgumentException.class, () -> Pruner.wanda(w, 2, 8, new double[7], SparsityPattern.parse("0.5")));
    }

    @Test
    void wandaKeepsSmallWeightOnHugeNormInputWhereMagnitudePrunesIt() {
        float[] w = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 0.1f};
        double[] norms = {1, 1, 1, 1, 1, 1, 1, 1000}; // scores 1..7, 100
        SparsityPattern half = SparsityPattern.parse("0.5");
        SparsityMask wanda = Pruner.wanda(w, 1, 8, norms, half);
        SparsityMask magnitude = Pruner.magnitude(w, 1, 8, half);
        assertArrayEquals(new boolean[] {false, false, false, false, true, true, true, true}, keptRow(wanda, 8));
        assertArrayEquals(new boolean[] {false, false, false, true, true, true, true, false}, keptRow(magnitude, 8));
        // 2:4 on the same row: group 1 = {5, 6, 7, 0.1}.
        SparsityPattern twoFour = SparsityPattern.parse("2:4");
        assertArrayEquals(new boolean[] {false, false, true, true, false, false, true, true},
                keptRow(Pruner.wanda(w, 1, 8, norms, twoFour), 8));
        assertArrayEquals(new boolean[] {false, false, true, true, false, true, true, false},
                keptRow(Pruner.magnitude(w, 1, 8, twoFour), 8));
    }

    private static boolean[] keptRow(SparsityMask mask, int cols) {
        boolean[] out = new boolean[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = mask.kept(0, c);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "1.0", "4:2", "0:4", "-0.1", "2:2", "2:", ":4", "2:4:8", "", "NaN"})
    void parseRejectsInvalid(String text) {
        assertThrows(IllegalArgumentException.class, () -> SparsityPattern.parse(text));
    }

    @Test
    void parseAcceptsValid() {
        assertEquals(new SparsityPattern.Unstructured(0.5), SparsityPattern.parse("0.5"));
        assertEquals(new SparsityPattern.Unstructured(0.0), SparsityPattern.parse(" 0 "));
        assertEquals(new SparsityPattern.NOfM(2, 4), SparsityPattern.parse("2:4"));
        assertInstanceOf(SparsityPattern.NOfM.class, SparsityPattern.parse("4:8"));
        assertEquals("2:4", SparsityPattern.parse("2:4").toString());
    }
}
