package dev.chorus.engine.compressed;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tile of the batched INT4 product: {@link #ROWS} expanded weight rows against one
 * slab of {@link #LANES} inputs. Per column, one vector load of the slab is reused by ROWS
 * broadcast-FMAs into ROWS accumulators, so the expansion of a row is paid once per call however
 * many inputs there are, and no horizontal sums are needed.
 */
final class SlabProduct {
    private static final VectorSpecies<Float> P = FloatVector.SPECIES_PREFERRED; // 512-bit where the CPU has AVX-512
    static final int LANES = P.length();
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
            FloatVector a0 = FloatVector.zero(P);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int c = 0; c < padded; c++) {
                FloatVector xv = FloatVector.fromArray(P, xt, base + c * LANES);
                a0 = FloatVector.broadcast(P, w[c]).fma(xv, a0);
                a1 = FloatVector.broadcast(P, w[w1 + c]).fma(xv, a1);
                a2 = FloatVector.broadcast(P, w[w2 + c]).fma(xv, a2);
                a3 = FloatVector.broadcast(P, w[w3 + c]).fma(xv, a3);
            }
            a0.intoArray(out, 0);
            a1.intoArray(out, LANES);
            a2.intoArray(out, 2 * LANES);
            a3.intoArray(out, 3 * LANES);
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
