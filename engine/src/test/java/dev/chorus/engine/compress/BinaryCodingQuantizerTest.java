package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

import org.junit.jupiter.api.Test;

class BinaryCodingQuantizerTest {
    private static final int ROWS = 16;
    private static final int COLS = 96;

    private static double keptError(float[] w, float[] deq, SparsityMask mask, int rows, int cols) {
        double e = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (mask.kept(r, c)) {
                    double d = (double) w[r * cols + c] - deq[r * cols + c];
                    e += d * d;
                }
            }
        }
        return e;
    }

    @Test
    void errorStrictlyDecreasesWithMorePlanes() {
        float[] w = GroupQuantizerTest.randomWeights(101, ROWS, COLS);
        SparsityMask mask = GroupQuantizerTest.randomHalfMask(102, ROWS, COLS);
        double previous = Double.POSITIVE_INFINITY;
        for (int q = 1; q <= 4; q++) {
            double e = keptError(w, BinaryCodingQuantizer.quantize(w, ROWS, COLS, mask, q, 10).dequantize(), mask, ROWS, COLS);
            System.out.printf("binary coding q=%d error=%.6g%n", q, e);
            assertTrue(e < previous, "q=" + q + ": " + e + " not below " + previous);
            previous = e;
        }
    }

    @Test
    void refinementNeverWorseThanGreedy() {
        for (long seed = 0; seed < 5; seed++) {
            float[] w = GroupQuantizerTest.randomWeights(200 + seed, ROWS, COLS);
            SparsityMask mask = GroupQuantizerTest.randomHalfMask(300 + seed, ROWS, COLS);
            for (int q = 1; q <= 4; q++) {
                BinaryCodedMatrix greedy = BinaryCodingQuantizer.quantize(w, ROWS, COLS, mask, q, 0);
                BinaryCodedMatrix refined = BinaryCodingQuantizer.quantize(w, ROWS, COLS, mask, q, 10);
                float[] g = greedy.dequantize();
                float[] f = refined.dequantize();
                // Per row, so a gain in one row cannot hide a loss in another.
                for (int r = 0; r < ROWS; r++) {
                    double eg = rowError(w, g, mask, r);
                    double ef = rowError(w, f, mask, r);
                    assertTrue(ef <= eg * (1 + 1e-6) + 1e-12, "seed " + seed + " q=" + q + " row " + r + ": " + ef + " > " + eg);
                }
                if (q >= 2) {
                    assertTrue(keptError(w, f, mask, ROWS, COLS) < keptError(w, g, mask, ROWS, COLS), "refinement should help at q=" + q);
                }
            }
        }
    }

    private static double rowError(float[] w, float[] deq, SparsityMask mask, int r) {
        double e = 0;
        for (int c = 0; c < COLS; c++) {
            if (mask.kept(r, c)) {
                double d = (double) w[r * COLS + c] - deq[r * COLS + c];
                e += d * d;
            }
        }
        return e;
    }

    @Test
    void prunedEntriesDequantizeToExactlyZero() {
        float[] w = GroupQuantizerTest.randomWeights(401, ROWS, COLS);
        SparsityMask mask = GroupQuantizerTest.randomHalfMask(402, ROWS, COLS);
        for (int q = 1; q <= 4; q++) {
            BinaryCodedMatrix m = BinaryCodingQuantizer.quantize(w, ROWS, COLS, mask, q, 10);
            assertEquals(mask, m.mask());
            float[] deq = m.dequantize();
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < COLS; c++) {
                    if (!mask.kept(r, c)) {
                        assertEquals(0.0f, deq[r * COLS + c]);
                        for (int i = 0; i < q; i++) {
                            assertTrue(!m.positive(i, r, c), "pruned entries carry no sign bits");
                        }
                    }
                }
            }
        }
    }

    @Test
    void singlePlaneGreedyIsSignTimesMeanAbsPerRow() {
        // Row 0: mean |w| = (1 + 2 + 3 + 6) / 4 = 3. Row 1: 100 is pruned, mean |kept| = (1 + 3 + 2) / 3 = 2.
        float[] w = {1f, -2f, 3f, -6f, 1f, -3f, 100f, 2f};
        SparsityMask mask = SparsityMask.of(2, 4, new boolean[] {true, true, true, true, true, true, false, true});
        BinaryCodedMatrix m = BinaryCodingQuantizer.quantize(w, 2, 4, mask, 1, 0);
        assertArrayEquals(new float[] {3f, 2f}, m.alphas());
        assertArrayEquals(new float[] {3f, -3f, 3f, -3f, 2f, -2f, 0f, 2f}, m.dequantize());
    }

    @Test
    void twoPlaneGreedyHandCase() {
        // w = [1, -3, 5, -7]: α0 = mean|w| = 4, residual [-3, 1, 1, -3] → α1 = 2.
        float[] w = {1f, -3f, 5f, -7f};
        BinaryCodedMatrix m = BinaryCodingQuantizer.quantize(w, 1, 4, SparsityMask.allKept(1, 4), 2, 0);
        assertArrayEquals(new float[] {4f, 2f}, m.alphas());
        assertArrayEquals(new float[] {2f, -2f, 6f, -6f}, m.dequantize());
    }

    @Test
    void rejectsPlaneCountOutOfRange() {
        float[] w = new float[8];
        assertThrows(IllegalArgumentException.class, () -> BinaryCodingQuantizer.quantize(w, 1, 8, SparsityMask.allKept(1, 8), 0, 0));
        assertThrows(IllegalArgumentException.class, () -> BinaryCodingQuantizer.quantize(w, 1, 8, SparsityMask.allKept(1, 8), 9, 0));
    }
}
