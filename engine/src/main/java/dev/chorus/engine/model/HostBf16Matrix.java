package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A dense weight in bf16 panels ({@link PanelMatrix}): half the bytes of {@link HostMatrix}, which a
 * single input's product is bound by reading. Arithmetic stays fp32: a bf16 value is the top half of
 * an fp32 one, so a load of eight ints (sixteen bf16 values) gives two float vectors with one shift and one mask. The tolerance this costs is tested
 * (HostDecoderTest).
 */
public final class HostBf16Matrix extends PanelMatrix {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    // [ceil(out / PANEL), in, LANES]: int k of a step holds a panel's outputs k (low half) and k + 8 (high
    // half) in bf16, so one 256-bit load and one shift or mask per half give both vectors; outputs past out are zero
    private final int[] panels;

    /** W [out, in] row-major, rounded to bf16 into panels. */
    public HostBf16Matrix(float[] w, int out, int in, KernelThreads threads) {
        super(w, out, in, threads);
        panels = new int[panelEntries() / 2];
        for (int o = 0; o < out; o++) {
            int lane = o % PANEL;
            for (int j = 0; j < in; j++) {
                int at = (o / PANEL * in + j) * LANES + lane % LANES;
                int half = toBf16(w[o * in + j]) & 0xFFFF;
                panels[at] |= lane < LANES ? half : half << 16;
            }
        }
    }

    @Override
    public long bytes() {
        return (long) panels.length * Integer.BYTES;
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
        int w = p * in * LANES;
        for (int j = 0; j < in; j++, w += LANES) {
            IntVector pair = IntVector.fromArray(I, panels, w);
            FloatVector lo = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector hi = pair.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
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
        int w0 = p * in * LANES;
        int w1 = w0 + in * LANES;
        for (int j = 0; j < in; j++, w0 += LANES, w1 += LANES) {
            FloatVector v = FloatVector.broadcast(F, x[x0 + j]);
            IntVector pair0 = IntVector.fromArray(I, panels, w0);
            IntVector pair1 = IntVector.fromArray(I, panels, w1);
            a0 = pair0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v, a0);
            b0 = pair0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats().fma(v, b0);
            a1 = pair1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v, a1);
            b1 = pair1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats().fma(v, b1);
        }
        a0.intoArray(spill, 0);
        b0.intoArray(spill, LANES);
        a1.intoArray(spill, PANEL);
        b1.intoArray(spill, PANEL + LANES);
    }

    /** fp32 → bf16, round to nearest even (weights are finite). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
