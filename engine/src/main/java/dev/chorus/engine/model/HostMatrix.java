package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A dense fp32 weight W [out, in] in a Java array, multiplied by the engine's own kernel: y = x·Wᵀ for
 * a few inputs at once. W is stored in panels of {@link #PANEL} outputs, input-major inside a panel,
 * so a step over the input reads one contiguous vector per 8 outputs and every lane accumulates its
 * own output: no horizontal sums. Four inputs share each weight load (the batched kernel); a single
 * input takes two panels at a time to keep four accumulation chains in flight. Either way an output
 * is one chain of fused multiply-adds over j = 0..in−1, so a row's result does not depend on how many
 * rows share the call.
 */
public final class HostMatrix implements HostLinear {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256; // 512-bit vectors are slow on JDK 17 here
    private static final int LANES = 8;
    private static final int PANEL = 2 * LANES; // outputs per panel
    /** Multiply-adds below which a product stays on the calling thread (waking a worker costs more). */
    private static final long PARALLEL_FROM = 1L << 20;

    private final float[] panels; // [ceil(out / PANEL), in, PANEL]; outputs past out are zero
    private final int out;
    private final int in;
    private final KernelThreads threads;

    /** W [out, in] row-major, copied into panels. */
    public HostMatrix(float[] w, int out, int in, KernelThreads threads) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("weight holds " + w.length + " values, not " + out + "×" + in);
        }
        this.out = out;
        this.in = in;
        this.threads = threads;
        panels = new float[panelCount() * in * PANEL];
        for (int o = 0; o < out; o++) {
            int at = o / PANEL * in * PANEL + o % PANEL;
            for (int j = 0; j < in; j++) {
                panels[at + j * PANEL] = w[o * in + j];
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
        return (long) panels.length * Float.BYTES;
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
            FloatVector lo = FloatVector.fromArray(F, panels, w);
            FloatVector hi = FloatVector.fromArray(F, panels, w + LANES);
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
            a0 = FloatVector.fromArray(F, panels, w0).fma(v, a0);
            b0 = FloatVector.fromArray(F, panels, w0 + LANES).fma(v, b0);
            a1 = FloatVector.fromArray(F, panels, w1).fma(v, a1);
            b1 = FloatVector.fromArray(F, panels, w1 + LANES).fma(v, b1);
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
}
