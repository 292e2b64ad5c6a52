package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link HostMatrix} with the weight rounded to bf16: the same panels and kernels over half the
 * bytes (a single input's product is bound by reading them). Arithmetic stays fp32: a bf16 value is
 * the top half of an fp32 one, so a load widens eight of them with one shift. The kernels are
 * {@link HostMatrix}'s with another load, kept apart so that each stays one compiled loop (vectors
 * that meet from two storages' branches may be boxed). The tolerance this costs is tested
 * (HostDecoderTest).
 */
public final class HostBf16Matrix implements HostLinear {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256; // 512-bit vectors are slow on JDK 17 here
    private static final VectorSpecies<Short> H = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int LANES = 8;
    private static final int PANEL = 2 * LANES; // outputs per panel
    /** Multiply-adds below which a product stays on the calling thread (waking a worker costs more). */
    private static final long PARALLEL_FROM = 1L << 20;

    private final short[] panels; // [ceil(out / PANEL), in, PANEL] bf16; outputs past out are zero
    private final int out;
    private final int in;
    private final KernelThreads threads;

    /** W [out, in] row-major, rounded to bf16 into panels. */
    public HostBf16Matrix(float[] w, int out, int in, KernelThreads threads) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("weight holds " + w.length + " values, not " + out + "×" + in);
        }
        this.out = out;
        this.in = in;
        this.threads = threads;
        panels = new short[panelCount() * in * PANEL];
        for (int o = 0; o < out; o++) {
            int at = o / PANEL * in * PANEL + o % PANEL;
            for (int j = 0; j < in; j++) {
                panels[at + j * PANEL] = toBf16(w[o * in + j]);
            }
        }
    }

    private int panelCount() {
        return (out + PANEL - 1) / PANEL;
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
        return (long) panels.length * Short.BYTES;
    }

    @Override
    public void multiply(float[] x, int rows, float[] y) {
        int count = panelCount();
        int parts = (long) rows * out * in < PARALLEL_FROM ? 1 : Math.min(threads.threads(), count / 2);
        if (parts <= 1) {
            multiplyPanels(x, rows, y, 0, count);
        } else {
            threads.run(parts, p -> multiplyPanels(x, rows, y, count * p / parts, count * (p + 1) / parts));
        }
    }

    /**
     * y[t, o] = Σ_j W[o, j]·x[t, j] for the outputs of panels [from, to) and every input t. Panels are
     * the outer loop, so each panel is read from memory once and then from cache by every group of inputs.
     */
    void multiplyPanels(float[] x, int rows, float[] y, int from, int to) {
        float[] spill = new float[4 * PANEL]; // the sums of a kernel call on their way into y
        if (rows == 1) {
            int p = from;
            for (; p + 2 <= to; p += 2) {
                oneInputTwoPanels(x, 0, p, y, spill);
            }
            if (p < to) {
                fourInputs(x, 0, p, y, spill, 1);
            }
            return;
        }
        for (int p = from; p < to; p++) {
            for (int t = 0; t < rows; t += 4) {
                fourInputs(x, t, p, y, spill, Math.min(4, rows - t));
            }
        }
    }

    /** Panel p for inputs t..t+n−1 (n ≤ 4; absent inputs repeat input t and are not stored). */
    private void fourInputs(float[] x, int t, int p, float[] y, float[] spill, int n) {
        int x0 = t * in;
        int x1 = (n > 1 ? t + 1 : t) * in;
        int x2 = (n > 2 ? t + 2 : t) * in;
        int x3 = (n > 3 ? t + 3 : t) * in;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        FloatVector a2 = a0;
        FloatVector b2 = a0;
        FloatVector a3 = a0;
        FloatVector b3 = a0;
        int w = p * in * PANEL;
        for (int j = 0; j < in; j++, w += PANEL) {
            FloatVector lo = load(panels, w);
            FloatVector hi = load(panels, w + LANES);
            FloatVector v = FloatVector.broadcast(F, x[x0 + j]);
            a0 = lo.fma(v, a0);
            b0 = hi.fma(v, b0);
            v = FloatVector.broadcast(F, x[x1 + j]);
            a1 = lo.fma(v, a1);
            b1 = hi.fma(v, b1);
            v = FloatVector.broadcast(F, x[x2 + j]);
            a2 = lo.fma(v, a2);
            b2 = hi.fma(v, b2);
            v = FloatVector.broadcast(F, x[x3 + j]);
            a3 = lo.fma(v, a3);
            b3 = hi.fma(v, b3);
        }
        // Vectors stay in this method (passed to another, they may be boxed): sums go through spill.
        a0.intoArray(spill, 0);
        b0.intoArray(spill, LANES);
        a1.intoArray(spill, PANEL);
        b1.intoArray(spill, PANEL + LANES);
        a2.intoArray(spill, 2 * PANEL);
        b2.intoArray(spill, 2 * PANEL + LANES);
        a3.intoArray(spill, 3 * PANEL);
        b3.intoArray(spill, 3 * PANEL + LANES);
        for (int k = 0; k < n; k++) {
            store(spill, k, t + k, p, y);
        }
    }

    /** Panels p and p+1 for input t: four chains, each output's the same as in {@link #fourInputs}. */
    private void oneInputTwoPanels(float[] x, int t, int p, float[] y, float[] spill) {
        int x0 = t * in;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector b0 = a0;
        FloatVector a1 = a0;
        FloatVector b1 = a0;
        int w0 = p * in * PANEL;
        int w1 = w0 + in * PANEL;
        for (int j = 0; j < in; j++, w0 += PANEL, w1 += PANEL) {
            FloatVector v = FloatVector.broadcast(F, x[x0 + j]);
            a0 = load(panels, w0).fma(v, a0);
            b0 = load(panels, w0 + LANES).fma(v, b0);
            a1 = load(panels, w1).fma(v, a1);
            b1 = load(panels, w1 + LANES).fma(v, b1);
        }
        a0.intoArray(spill, 0);
        b0.intoArray(spill, LANES);
        a1.intoArray(spill, PANEL);
        b1.intoArray(spill, PANEL + LANES);
        store(spill, 0, t, p, y);
        store(spill, 1, t, p + 1, y);
    }

    /** The k-th panel of sums in spill into y[t, p·PANEL ...], only the outputs that exist. */
    private void store(float[] spill, int k, int t, int p, float[] y) {
        int o = p * PANEL;
        System.arraycopy(spill, k * PANEL, y, t * out + o, Math.min(PANEL, out - o));
    }

    /** Eight bf16 values from a[at] widened to floats. */
    private static FloatVector load(short[] a, int at) {
        return ((IntVector) ShortVector.fromArray(H, a, at).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** fp32 → bf16, round to nearest even (weights are finite). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
