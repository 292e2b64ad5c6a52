package dev.chorus.engine.compressed;

import java.nio.FloatBuffer;

/**
 * A batch of inputs laid out for {@link SparseInt4Matrix#multiplyRows}: rows padded to whole
 * 8-column chunks (small batches), or transposed into slabs of {@link SlabProduct#LANES} inputs
 * (larger ones), so a weight broadcast meets a whole slab in one vector. Buffers grow with the batch
 * and are reused; padding columns are never written and stay zero. Filled by one thread, then read
 * by any number.
 */
public final class SparseInt4Input {
    /** From this batch size on, inputs are multiplied a slab at a time. */
    public static final int SLAB_FROM = 8;

    private final int cols;
    private final int padded;
    private int batch;
    private float[] rowMajor = new float[0]; // [batch rounded up to 4, padded]; rows past the batch hold stale values, never read into y
    private float[] slabs = new float[0]; // [ceil(batch / LANES), padded, LANES]: input b, column c at (b / LANES, c, b % LANES)
    private float[] row = new float[0]; // [cols]: one input on its way into the slabs

    SparseInt4Input(int cols, int padded) {
        this.cols = cols;
        this.padded = padded;
    }

    /** Lays out x [batch, cols]; returns this. */
    public SparseInt4Input load(float[] x, int batch) {
        return load(FloatBuffer.wrap(x), batch);
    }

    /** Lays out x [batch, cols] from its position on (e.g. a view of a backend array); returns this. */
    public SparseInt4Input load(FloatBuffer x, int batch) {
        if (batch < 1 || x.remaining() != (long) batch * cols) {
            throw new IllegalArgumentException("x must be [" + batch + ", " + cols + "], got " + x.remaining() + " values");
        }
        this.batch = batch;
        int from = x.position();
        if (batch < SLAB_FROM) {
            int need = (batch + 3) / 4 * 4 * padded;
            if (rowMajor.length < need) {
                rowMajor = new float[need];
            }
            for (int b = 0; b < batch; b++) {
                x.get(from + b * cols, rowMajor, b * padded, cols);
            }
            return this;
        }
        int lanes = SlabProduct.LANES;
        int need = (batch + lanes - 1) / lanes * padded * lanes;
        if (slabs.length < need) {
            slabs = new float[need];
        }
        if (row.length < cols) {
            row = new float[cols];
        }
        for (int b = 0; b < batch; b++) {
            x.get(from + b * cols, row, 0, cols);
            int base = b / lanes * padded * lanes + b % lanes;
            for (int c = 0; c < cols; c++) {
                slabs[base + c * lanes] = row[c];
            }
        }
        return this;
    }

    int cols() {
        return cols;
    }

    int padded() {
        return padded;
    }

    int batch() {
        return batch;
    }

    boolean slabbed() {
        return batch >= SLAB_FROM;
    }

    float[] rowMajor() {
        return rowMajor;
    }

    float[] slabs() {
        return slabs;
    }
}
