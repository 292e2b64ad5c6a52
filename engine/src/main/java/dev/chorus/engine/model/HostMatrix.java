package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A dense fp32 weight W [out, in] in a Java array, multiplied by the engine's own kernel: y = x·Wᵀ for
 * a few inputs at once. A tile of four weight rows meets two inputs per pass, so a weight row is read
 * from memory once per call and then from L1; at one input the product runs at memory bandwidth (on
 * this project's 2-core CPUs about 1.7× the backend's single-row product). Each output is one dot
 * product in a fixed order, whatever the batch, so a row's result does not depend on its neighbours.
 */
public final class HostMatrix implements HostLinear {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256; // 512-bit vectors are slow on JDK 17 here
    private static final int LANES = 8;
    private static final int TILE = 4; // weight rows per tile
    /** Multiply-adds below which a product stays on the calling thread (waking a worker costs more). */
    private static final long PARALLEL_FROM = 1L << 20;

    private final float[] w; // [out, in]
    private final int out;
    private final int in;
    private final KernelThreads threads;

    public HostMatrix(float[] w, int out, int in, KernelThreads threads) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("weight holds " + w.length + " values, not " + out + "×" + in);
        }
        this.w = w;
        this.out = out;
        this.in = in;
        this.threads = threads;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    long bytes() {
        return (long) w.length * Float.BYTES;
    }

    @Override
    public void multiply(float[] x, int rows, float[] y) {
        int tiles = (out + TILE - 1) / TILE;
        int parts = (long) rows * out * in < PARALLEL_FROM ? 1 : Math.min(threads.threads(), tiles);
        if (parts <= 1) {
            multiplyRows(x, rows, y, 0, out);
        } else {
            threads.run(parts, p -> multiplyRows(x, rows, y, tiles * p / parts * TILE, Math.min(out, tiles * (p + 1) / parts * TILE)));
        }
    }

    /** y[t, o] = Σ_j W[o, j]·x[t, j] for outputs [from, to) and every input t. */
    void multiplyRows(float[] x, int rows, float[] y, int from, int to) {
        int o = from;
        for (; o + TILE <= to; o += TILE) {
            for (int t = 0; t < rows; t += 2) {
                tile(x, t, Math.min(t + 1, rows - 1), rows, y, o);
            }
        }
        for (; o < to; o++) {
            for (int t = 0; t < rows; t++) {
                y[t * out + o] = dot(o * in, x, t * in);
            }
        }
    }

    /** Outputs o..o+3 of inputs t0 and t1 (t1 == t0 for a last odd input: computed twice, stored once). */
    private void tile(float[] x, int t0, int t1, int rows, float[] y, int o) {
        int w0 = o * in;
        int w1 = w0 + in;
        int w2 = w1 + in;
        int w3 = w2 + in;
        int x0 = t0 * in;
        int x1 = t1 * in;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        FloatVector a10 = a00;
        FloatVector a11 = a00;
        FloatVector a12 = a00;
        FloatVector a13 = a00;
        int j = 0;
        for (; j <= in - LANES; j += LANES) {
            FloatVector r0 = FloatVector.fromArray(F, w, w0 + j);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + j);
            FloatVector r2 = FloatVector.fromArray(F, w, w2 + j);
            FloatVector r3 = FloatVector.fromArray(F, w, w3 + j);
            FloatVector v = FloatVector.fromArray(F, x, x0 + j);
            a00 = r0.fma(v, a00);
            a01 = r1.fma(v, a01);
            a02 = r2.fma(v, a02);
            a03 = r3.fma(v, a03);
            v = FloatVector.fromArray(F, x, x1 + j);
            a10 = r0.fma(v, a10);
            a11 = r1.fma(v, a11);
            a12 = r2.fma(v, a12);
            a13 = r3.fma(v, a13);
        }
        int y0 = t0 * out + o;
        y[y0] = a00.reduceLanes(VectorOperators.ADD) + tail(w0, x, x0, j);
        y[y0 + 1] = a01.reduceLanes(VectorOperators.ADD) + tail(w1, x, x0, j);
        y[y0 + 2] = a02.reduceLanes(VectorOperators.ADD) + tail(w2, x, x0, j);
        y[y0 + 3] = a03.reduceLanes(VectorOperators.ADD) + tail(w3, x, x0, j);
        if (t1 != t0) {
            int y1 = t1 * out + o;
            y[y1] = a10.reduceLanes(VectorOperators.ADD) + tail(w0, x, x1, j);
            y[y1 + 1] = a11.reduceLanes(VectorOperators.ADD) + tail(w1, x, x1, j);
            y[y1 + 2] = a12.reduceLanes(VectorOperators.ADD) + tail(w2, x, x1, j);
            y[y1 + 3] = a13.reduceLanes(VectorOperators.ADD) + tail(w3, x, x1, j);
        }
    }

    /** W row (at wAt) · x row (at xAt), the same summation order as {@link #tile}. */
    private float dot(int wAt, float[] x, int xAt) {
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j <= in - LANES; j += LANES) {
            acc = FloatVector.fromArray(F, w, wAt + j).fma(FloatVector.fromArray(F, x, xAt + j), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) + tail(wAt, x, xAt, j);
    }

    /** The columns past the last whole vector. */
    private float tail(int wAt, float[] x, int xAt, int from) {
        float s = 0;
        for (int j = from; j < in; j++) {
            s += w[wAt + j] * x[xAt + j];
        }
        return s;
    }
}
