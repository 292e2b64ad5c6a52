package dev.chorus.engine.compressed;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tile of the batched INT4 product: {@link #ROWS} expanded weight rows against one
 * slab of {@link #LANES} inputs (two 256-bit vectors). Per column, one vector load of the slab is reused by ROWS
 * broadcast-FMAs into ROWS accumulators, so the expansion of a row is paid once per call however
 * many inputs there are, and no horizontal sums are needed.
 */
final class SlabProduct {
    // 256-bit, two vectors per slab: on JDK 17, 512-bit species (AVX-512 present) made this loop 20-300x slower
    // (some vector intrinsics fail to inline and the loop falls back to boxed vectors), so a slab is 2 x 8 lanes.
    private static final VectorSpecies<Float> P = FloatVector.SPECIES_256;
    private static final int V = P.length();
    static final int LANES = 2 * V;
    static final int ROWS = 4;

    private SlabProduct() {
    }

    /**
     * y[b, r0 + k] = Σ_c w[k, c] · x[b, c] for k < count and every input b of {@code in}.
     *
     * @param w   [ROWS, padded] expanded rows (rows past count zero)
     * @param out [ROWS, LANES] scratch
     */
    static void tileTimes(SparseInt4Input in, float[] w, float[] out, float[] y, int rows, int r0, int count) {
        int padded = in.padded();
        int batch = in.batch();
        float[] xt = in.slabs();
        int w1 = padded;
        int w2 = 2 * padded;
        int w3 = 3 * padded;
        for (int s = 0; s * LANES < batch; s++) {
            int base = s * padded * LANES;
            FloatVector a0 = FloatVector.zero(P); // row k, inputs 0..7 of the slab: a(2k); inputs 8..15: a(2k+1)
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector a4 = a0;
            FloatVector a5 = a0;
            FloatVector a6 = a0;
            FloatVector a7 = a0;
            for (int c = 0; c < padded; c++) {
                int at = base + c * LANES;
                FloatVector lo = FloatVector.fromArray(P, xt, at);
                FloatVector hi = FloatVector.fromArray(P, xt, at + V);
                FloatVector w0 = FloatVector.broadcast(P, w[c]);
                a0 = w0.fma(lo, a0);
                a1 = w0.fma(hi, a1);
                FloatVector v1 = FloatVector.broadcast(P, w[w1 + c]);
                a2 = v1.fma(lo, a2);
                a3 = v1.fma(hi, a3);
                FloatVector v2 = FloatVector.broadcast(P, w[w2 + c]);
                a4 = v2.fma(lo, a4);
                a5 = v2.fma(hi, a5);
                FloatVector v3 = FloatVector.broadcast(P, w[w3 + c]);
                a6 = v3.fma(lo, a6);
                a7 = v3.fma(hi, a7);
            }
            a0.intoArray(out, 0);
            a1.intoArray(out, V);
            a2.intoArray(out, 2 * V);
            a3.intoArray(out, 3 * V);
            a4.intoArray(out, 4 * V);
            a5.intoArray(out, 5 * V);
            a6.intoArray(out, 6 * V);
            a7.intoArray(out, 7 * V);
            int b0 = s * LANES;
            int width = Math.min(LANES, batch - b0);
            for (int k = 0; k < count; k++) {
                for (int b = 0; b < width; b++) {
                    y[(b0 + b) * rows + r0 + k] = out[k * LANES + b];
                }
            }
        }
    }
}
