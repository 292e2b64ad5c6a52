package dev.chorus.engine.adapter;

import dev.chorus.engine.model.HostBf16Matrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The low-rank slots of the targeted projections reading one block input, held on the host and
 * applied by a Vector API kernel (the BGMV idea): for token row t on slot s and each member m,
 * {@code xa = A[s, m]·x[t]}, then {@code y[t, cols of m] += (s·B)[s, m]ᵀ·xa}. A row reads only its own
 * slot's weights and only up to that adapter's rank, nothing is gathered or copied per step, rows on
 * slot 0 cost nothing, and the result for all members is one [tokens, out_total] addition.
 *
 * <p>Weights are stored as fp32 or as bf16 (round to nearest even; half the bytes, which is what a
 * distinct-adapter batch is bound by); arithmetic is fp32 either way. Only the engine thread touches it.
 */
final class HostLowRankGroup {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> H = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int LANES = 8;

    private final int members;
    private final int maxRank;
    private final int in;
    private final int[] outs; // [members] output features of each member
    private final int[] columnOf; // [members] first column of member m in the stacked output
    private final int outTotal; // width of the stacked output (every projection reading the input)
    private final int[] upOffset; // [members] offset of member m's up inside one slot
    private final int upPerSlot; // maxRank · Σ outs
    private final boolean bf16;
    private final float[] downF; // fp32 storage: [slots, members, maxRank, in] A, row k = A's row k
    private final float[] upF; // fp32 storage: per slot, per member [maxRank, out_m] (s·B)ᵀ
    private final short[] downH; // bf16 storage, same layout
    private final short[] upH;
    private final int[] rank; // [slots, members] rank stored (0: no adapter on that module)

    HostLowRankGroup(int slots, int maxRank, int in, int[] outs, int[] columnOf, int outTotal, boolean bf16) {
        this.members = outs.length;
        this.maxRank = maxRank;
        this.in = in;
        this.outs = outs.clone();
        this.columnOf = columnOf.clone();
        this.outTotal = outTotal;
        this.bf16 = bf16;
        upOffset = new int[members];
        int per = 0;
        for (int m = 0; m < members; m++) {
            upOffset[m] = per;
            per += maxRank * outs[m];
        }
        upPerSlot = per;
        long downSize = (long) slots * members * maxRank * in;
        long upSize = (long) slots * upPerSlot;
        if (downSize > Integer.MAX_VALUE - LANES || upSize > Integer.MAX_VALUE - LANES) {
            throw new IllegalArgumentException("host adapter slots too large for one array: use fewer slots or a lower rank");
        }
        downF = bf16 ? null : new float[(int) downSize];
        upF = bf16 ? null : new float[(int) upSize];
        downH = bf16 ? new short[(int) downSize] : null;
        upH = bf16 ? new short[(int) upSize] : null;
        rank = new int[slots * members];
    }

    /** Writes member m of a slot: downT Aᵀ [in, maxRank], upT (s·B)ᵀ [maxRank, out_m], of which the first {@code r} ranks are used. */
    void load(int slot, int m, int r, float[] downT, float[] upT) {
        int down = downStart(slot, m);
        for (int k = 0; k < maxRank; k++) {
            for (int j = 0; j < in; j++) {
                store(true, down + k * in + j, k < r ? downT[j * maxRank + k] : 0f);
            }
        }
        int up = upStart(slot, m);
        int out = outs[m];
        for (int i = 0; i < maxRank * out; i++) {
            store(false, up + i, i < r * out ? upT[i] : 0f);
        }
        rank[slot * members + m] = r;
    }

    /** Resets a slot to the zero adapter. */
    void clear(int slot) {
        for (int m = 0; m < members; m++) {
            rank[slot * members + m] = 0;
            int down = downStart(slot, m);
            int up = upStart(slot, m);
            for (int i = 0; i < maxRank * in; i++) {
                store(true, down + i, 0f);
            }
            for (int i = 0; i < maxRank * outs[m]; i++) {
                store(false, up + i, 0f);
            }
        }
    }

    int outTotal() {
        return outTotal;
    }

    /**
     * y [tokens, outTotal] += each token's adapter applied to x [tokens, in]; token t is on slot
     * {@code slotOfRow[t / tokensPerRow]}.
     */
    void addTo(float[] x, int tokens, int tokensPerRow, int[] slotOfRow, float[] y) {
        float[] xa = new float[maxRank];
        for (int t = 0; t < tokens; t++) {
            int slot = slotOfRow[t / tokensPerRow];
            for (int m = 0; m < members; m++) {
                int r = rank[slot * members + m];
                if (r == 0) {
                    continue;
                }
                int down = downStart(slot, m);
                for (int k = 0; k < r; k++) {
                    xa[k] = bf16 ? dotH(x, t * in, downH, down + k * in) : dotF(x, t * in, downF, down + k * in);
                }
                if (bf16) {
                    expandH(xa, r, upH, upStart(slot, m), outs[m], y, t * outTotal + columnOf[m]);
                } else {
                    expandF(xa, r, upF, upStart(slot, m), outs[m], y, t * outTotal + columnOf[m]);
                }
            }
        }
    }

    private int downStart(int slot, int m) {
        return (slot * members + m) * maxRank * in;
    }

    private int upStart(int slot, int m) {
        return slot * upPerSlot + upOffset[m];
    }

    private void store(boolean down, int at, float v) {
        if (bf16) {
            (down ? downH : upH)[at] = HostBf16Matrix.toBf16(v);
        } else {
            (down ? downF : upF)[at] = v;
        }
    }

    static float fromBf16(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    private static FloatVector loadH(short[] a, int at) {
        return ((IntVector) ShortVector.fromArray(H, a, at).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private float dotF(float[] x, int xAt, float[] w, int wAt) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int j = 0;
        for (; j <= in - 2 * LANES; j += 2 * LANES) { // two chains: the loop is bound by memory, not by fma latency
            acc0 = FloatVector.fromArray(F, x, xAt + j).fma(FloatVector.fromArray(F, w, wAt + j), acc0);
            acc1 = FloatVector.fromArray(F, x, xAt + j + LANES).fma(FloatVector.fromArray(F, w, wAt + j + LANES), acc1);
        }
        for (; j <= in - LANES; j += LANES) {
            acc0 = FloatVector.fromArray(F, x, xAt + j).fma(FloatVector.fromArray(F, w, wAt + j), acc0);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; j < in; j++) {
            sum += x[xAt + j] * w[wAt + j];
        }
        return sum;
    }

    private float dotH(float[] x, int xAt, short[] w, int wAt) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int j = 0;
        for (; j <= in - 2 * LANES; j += 2 * LANES) {
            acc0 = FloatVector.fromArray(F, x, xAt + j).fma(loadH(w, wAt + j), acc0);
            acc1 = FloatVector.fromArray(F, x, xAt + j + LANES).fma(loadH(w, wAt + j + LANES), acc1);
        }
        for (; j <= in - LANES; j += LANES) {
            acc0 = FloatVector.fromArray(F, x, xAt + j).fma(loadH(w, wAt + j), acc0);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; j < in; j++) {
            sum += x[xAt + j] * fromBf16(w[wAt + j]);
        }
        return sum;
    }

    /** y[yAt + o] += Σ_k xa[k] · up[upAt + k·out + o], one up row at a time (sequential reads; y stays in L1). */
    private static void expandF(float[] xa, int r, float[] up, int upAt, int out, float[] y, int yAt) {
        int vectorEnd = out - out % LANES;
        for (int k = 0; k < r; k++) {
            FloatVector c = FloatVector.broadcast(F, xa[k]);
            int row = upAt + k * out;
            for (int o = 0; o < vectorEnd; o += LANES) {
                c.fma(FloatVector.fromArray(F, up, row + o), FloatVector.fromArray(F, y, yAt + o)).intoArray(y, yAt + o);
            }
            for (int o = vectorEnd; o < out; o++) {
                y[yAt + o] += xa[k] * up[row + o];
            }
        }
    }

    private static void expandH(float[] xa, int r, short[] up, int upAt, int out, float[] y, int yAt) {
        int vectorEnd = out - out % LANES;
        for (int k = 0; k < r; k++) {
            FloatVector c = FloatVector.broadcast(F, xa[k]);
            int row = upAt + k * out;
            for (int o = 0; o < vectorEnd; o += LANES) {
                c.fma(loadH(up, row + o), FloatVector.fromArray(F, y, yAt + o)).intoArray(y, yAt + o);
            }
            for (int o = vectorEnd; o < out; o++) {
                y[yAt + o] += xa[k] * fromBf16(up[row + o]);
            }
        }
    }
}
