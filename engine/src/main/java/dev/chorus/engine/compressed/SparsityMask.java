package dev.chorus.engine.compressed;

import java.util.Arrays;

/**
 * Which entries of a row-major [rows, cols] weight are kept (1) or pruned (0). Immutable; stored
 * bit-packed row by row (bit c of row r at byte r*ceil(cols/8) + c/8, least significant bit first).
 */
public final class SparsityMask {
    private final int rows;
    private final int cols;
    private final byte[] bits; // [rows, ceil(cols/8)]

    private SparsityMask(int rows, int cols, byte[] bits) {
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
    }

    public static int bytesPerRow(int cols) {
        return (cols + 7) / 8;
    }

    public static SparsityMask allKept(int rows, int cols) {
        boolean[] keep = new boolean[Math.multiplyExact(rows, cols)];
        Arrays.fill(keep, true);
        return of(rows, cols, keep);
    }

    /** keep[r*cols + c] true where the weight stays. */
    public static SparsityMask of(int rows, int cols, boolean[] keep) {
        if (keep.length != (long) rows * cols) {
            throw new IllegalArgumentException("mask of " + keep.length + " entries for a " + rows + "x" + cols + " matrix");
        }
        int stride = bytesPerRow(cols);
        byte[] bits = new byte[Math.multiplyExact(rows, stride)];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (keep[r * cols + c]) {
                    bits[r * stride + (c >>> 3)] |= (byte) (1 << (c & 7));
                }
            }
        }
        return new SparsityMask(rows, cols, bits);
    }

    /** The mask of the non-zero entries of w. */
    public static SparsityMask nonZeros(float[] w, int rows, int cols) {
        boolean[] keep = new boolean[w.length];
        for (int i = 0; i < w.length; i++) {
            keep[i] = w[i] != 0f;
        }
        return of(rows, cols, keep);
    }

    /** From the packed form; padding bits past cols must be zero. */
    public static SparsityMask fromPacked(int rows, int cols, byte[] packed) {
        int stride = bytesPerRow(cols);
        if (packed.length != (long) rows * stride) {
            throw new IllegalArgumentException("packed mask has " + packed.length + " bytes, expected " + (long) rows * stride);
        }
        if ((cols & 7) != 0) {
            int padding = 0xFF << (cols & 7) & 0xFF;
            for (int r = 0; r < rows; r++) {
                if ((packed[r * stride + stride - 1] & padding) != 0) {
                    throw new IllegalArgumentException("packed mask row " + r + " has bits set past column " + cols);
                }
            }
        }
        return new SparsityMask(rows, cols, packed.clone());
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public boolean kept(int row, int col) {
        return (bits[row * bytesPerRow(cols) + (col >>> 3)] >>> (col & 7) & 1) != 0;
    }

    public long keptCount() {
        long n = 0;
        for (byte b : bits) {
            n += Integer.bitCount(b & 0xFF);
        }
        return n;
    }

    public double sparsity() {
        return 1.0 - (double) keptCount() / ((long) rows * cols);
    }

    /** 1 where kept, 0 where pruned, row-major [rows, cols]: the mask as a weight to multiply by. */
    public float[] keepWeights() {
        float[] keep = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                keep[r * cols + c] = kept(r, c) ? 1f : 0f;
            }
        }
        return keep;
    }

    /** Zeroes the pruned entries of w in place. */
    public void apply(float[] w) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (!kept(r, c)) {
                    w[r * cols + c] = 0f;
                }
            }
        }
    }

    public byte[] packed() {
        return bits.clone();
    }

    public long packedBytes() {
        return bits.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparsityMask m && m.rows == rows && m.cols == cols && Arrays.equals(m.bits, bits);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bits) * 31 + rows * 17 + cols;
    }
}
