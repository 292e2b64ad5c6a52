package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;

/** A dense weight in fp32 panels ({@link PanelMatrix}): the host decode path's default copy. */
public final class HostMatrix extends PanelMatrix {
    private final float[] panels; // [ceil(out / PANEL), in, PANEL]; outputs past out are zero

    /** W [out, in] row-major, copied into panels. */
    public HostMatrix(float[] w, int out, int in, KernelThreads threads) {
        super(w, out, in, threads);
        panels = new float[panelEntries()];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < in; j++) {
                panels[at(o, j)] = w[o * in + j];
            }
        }
    }

    @Override
    public long bytes() {
        return (long) panels.length * Float.BYTES;
    }

    @Override
    void fourInputs(float[] x, int t, int p, float[] spill, int n) {
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
        a0.intoArray(spill, 0);
        b0.intoArray(spill, LANES);
        a1.intoArray(spill, PANEL);
        b1.intoArray(spill, PANEL + LANES);
        a2.intoArray(spill, 2 * PANEL);
        b2.intoArray(spill, 2 * PANEL + LANES);
        a3.intoArray(spill, 3 * PANEL);
        b3.intoArray(spill, 3 * PANEL + LANES);
    }

    @Override
    void oneInputTwoPanels(float[] x, int t, int p, float[] spill) {
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
    }
}
