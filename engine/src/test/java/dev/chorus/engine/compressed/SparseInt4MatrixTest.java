package dev.chorus.engine.compressed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Vector API kernel against the oracle: dequantize to a dense matrix, multiply in double. */
class SparseInt4MatrixTest {

    static QuantizedMatrix random(Random rnd, int rows, int cols, int groupSize, double keep, boolean shifted) {
        QuantSpec spec = new QuantSpec(4, groupSize, false);
        int groups = spec.groups(cols);
        boolean[] kept = new boolean[rows * cols];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = rnd.nextDouble() < keep;
        }
        SparsityMask mask = SparsityMask.of(rows, cols, kept);
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        float[] shift = shifted ? new float[rows * groups] : null;
        for (int i = 0; i < scales.length; i++) {
            scales[i] = 0.01f + rnd.nextFloat() * 0.1f;
            zeros[i] = (byte) rnd.nextInt(16);
            if (shifted) {
                shift[i] = rnd.nextFloat() - 0.5f;
            }
        }
        byte[] codes = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                codes[r * cols + c] = kept[r * cols + c] ? (byte) rnd.nextInt(16) : zeros[r * groups + c / groupSize];
            }
        }
        return new QuantizedMatrix(rows, cols, spec, codes, scales, zeros, mask, shift);
    }

    /** y = x · Wᵀ over the stacked parts' dequantized weights, in double. */
    static double[] oracle(List<QuantizedMatrix> parts, float[] x, int batch) {
        int cols = parts.get(0).cols();
        int rows = parts.stream().mapToInt(QuantizedMatrix::rows).sum();
        double[] y = new double[batch * rows];
        int row0 = 0;
        for (QuantizedMatrix q : parts) {
            float[] w = q.dequantize();
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < q.rows(); r++) {
                    double s = 0;
                    for (int c = 0; c < cols; c++) {
                        s += (double) w[r * cols + c] * x[b * cols + c];
                    }
                    y[b * rows + row0 + r] = s;
                }
            }
            row0 += q.rows();
        }
        return y;
    }

    private static void check(List<QuantizedMatrix> parts, int batch, Random rnd) {
        int cols = parts.get(0).cols();
        SparseInt4Matrix m = SparseInt4Matrix.stack(parts);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] y = new float[batch * m.rows()];
        m.multiply(x, batch, y);
        double[] expected = oracle(parts, x, batch);
        for (int i = 0; i < y.length; i++) {
            assertEquals(expected[i], y[i], 1e-4 * (1 + Math.abs(expected[i])), "entry " + i + " at batch " + batch);
        }
    }

    @Test
    void matchesDequantizeThenMultiplyForEveryBatchAndShape() {
        Random rnd = new Random(7);
        for (int groupSize : new int[] {32, 64, 128}) {
            for (int cols : new int[] {8, 128, 288, 300, 13}) {
                for (double keep : new double[] {0.5, 0.0, 1.0, 0.1}) {
                    QuantizedMatrix q = random(rnd, 23, cols, groupSize, keep, false);
                    for (int batch : new int[] {1, 2, 4, 5, 7, 8, 16, 33}) {
                        check(List.of(q), batch, rnd);
                    }
                }
            }
        }
    }

    @Test
    void everyBatchFrom1To33MatchesWithOddShapes() {
        Random rnd = new Random(17);
        for (int[] shape : new int[][] {{37, 300, 128}, {64, 288, 32}, {5, 13, 64}, {9, 136, 64}}) {
            QuantizedMatrix q = random(rnd, shape[0], shape[1], shape[2], 0.5, false);
            for (int batch = 1; batch <= 33; batch++) {
                check(List.of(q), batch, rnd);
            }
        }
    }

    @Test
    void rowRangesOnSeparateWorkspacesAndAReusedInputGiveTheWholeProduct() {
        Random rnd = new Random(23);
        QuantizedMatrix q = random(rnd, 30, 200, 64, 0.5, true);
        SparseInt4Matrix m = SparseInt4Matrix.stack(List.of(q));
        SparseInt4Input in = m.newInput();
        SparseInt4Matrix.Workspace[] ws = {m.newWorkspace(), m.newWorkspace(), m.newWorkspace()};
        for (int batch : new int[] {33, 2, 17, 1, 9, 5, 16}) { // shrinking and growing: stale values past the batch must not leak
            float[] x = new float[batch * 200];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            in.load(x, batch);
            float[] y = new float[batch * 30];
            int[] bounds = {0, 8, 21, 30}; // uneven, not all multiples of the 4-row tile
            for (int p = 0; p < 3; p++) {
                m.multiplyRows(in, y, bounds[p], bounds[p + 1], ws[p]);
            }
            double[] expected = oracle(List.of(q), x, batch);
            for (int i = 0; i < y.length; i++) {
                assertEquals(expected[i], y[i], 1e-4 * (1 + Math.abs(expected[i])), "entry " + i + " at batch " + batch);
            }
        }
    }

    @Test
    void foldedZeroShiftsGivePrunedEntriesTheirDelta() {
        Random rnd = new Random(11);
        QuantizedMatrix q = random(rnd, 40, 288, 128, 0.5, true);
        for (int batch : new int[] {1, 3, 8, 16, 21}) {
            check(List.of(q), batch, rnd);
        }
    }

    @Test
    void stackedMatricesAreTheirRowsConcatenated() {
        Random rnd = new Random(3);
        List<QuantizedMatrix> parts = List.of(random(rnd, 32, 96, 32, 0.5, false), random(rnd, 16, 96, 32, 0.3, true),
                random(rnd, 16, 96, 32, 0.7, false));
        check(parts, 1, rnd);
        check(parts, 6, rnd);
        check(parts, 19, rnd);
        assertEquals(64, SparseInt4Matrix.stack(parts).rows());
    }

    @Test
    void residentBytesAreTheKeptCodesMaskAndGroupParameters() {
        QuantizedMatrix q = random(new Random(5), 64, 256, 128, 0.5, false);
        long expected = (q.mask().keptCount() + 1) / 2 + 64 * Integer.BYTES + q.mask().packedBytes() + 64 * 2 * (Float.BYTES + 1);
        assertEquals(expected, SparseInt4Matrix.stack(List.of(q)).residentBytes());
        assertEquals(expected, q.residentBytes(), "the host record accounts the same bytes");
        // half the entries kept: about a quarter byte per weight for the codes instead of half a byte
        assertTrue(KeptInt4Codes.length(q.mask(), 128) < 64 * 256 / 4 * 1.1);
    }

    @Test
    void keptCodesRoundTripAndPrunedEntriesReturnAtTheirZeroPoint() {
        Random rnd = new Random(9);
        for (int cols : new int[] {7, 128, 300}) {
            QuantizedMatrix q = random(rnd, 9, cols, 32, 0.5, false);
            byte[] packed = KeptInt4Codes.pack(q.codes(), q.mask(), 32);
            assertEquals(KeptInt4Codes.length(q.mask(), 32), packed.length);
            assertArrayEquals(q.codes(), KeptInt4Codes.unpack(packed, q.mask(), 32, q.zeros()));
        }
    }

    @Test
    void keptCodesLayoutByHand() {
        // one row, 8 columns, one group of 32: kept columns 0, 2, 3, 5, 6 with codes 1..5 -> h = 3 bytes:
        // byte j = code j | code (j+3) << 4
        boolean[] keep = {true, false, true, true, false, true, true, false};
        SparsityMask mask = SparsityMask.of(1, 8, keep);
        byte[] codes = {1, 9, 2, 3, 9, 4, 5, 9};
        assertArrayEquals(new byte[] {1 | 4 << 4, 2 | 5 << 4, 3}, KeptInt4Codes.pack(codes, mask, 32));
        assertArrayEquals(codes, KeptInt4Codes.unpack(new byte[] {1 | 4 << 4, 2 | 5 << 4, 3}, mask, 32, new byte[] {9}));
        assertThrows(IllegalArgumentException.class, () -> KeptInt4Codes.unpack(new byte[] {1, 2}, mask, 32, new byte[] {9}));
        assertThrows(IllegalArgumentException.class, () -> KeptInt4Codes.unpack(new byte[] {1, 2, (byte) 0x13}, mask, 32, new byte[] {9}));
    }
}
