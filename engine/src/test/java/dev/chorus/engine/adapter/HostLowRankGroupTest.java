package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.model.HostBf16Matrix;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The host low-rank kernel against a plain double-precision oracle written from the definition
 * y[t, cols of m] += Σ_k (Σ_j Aᵀ[j, k]·x[t, j]) · (sB)ᵀ[k, o], for distinct, repeated and unsorted
 * slots, slot 0 rows, ranks below the slot rank, members with different widths, several tokens per row
 * and dimensions that are not multiples of the vector width.
 */
class HostLowRankGroupTest {
    private static final int SLOTS = 5;
    private static final int MAX_RANK = 6;
    private static final int IN = 37; // not a multiple of 8 or 16: exercises the scalar tails
    private static final int[] OUTS = {19, 8, 24}; // members of one input, different widths
    private static final int[] COLUMNS = {0, 30, 38}; // a non-member projection sits in columns 19..29
    private static final int OUT_TOTAL = 62;

    private record Slot(int[] rank, float[][] downT, float[][] upT) {
    }

    private static Slot[] randomSlots(Random rnd) {
        Slot[] slots = new Slot[SLOTS];
        for (int s = 1; s < SLOTS; s++) {
            int[] rank = new int[OUTS.length];
            float[][] downT = new float[OUTS.length][];
            float[][] upT = new float[OUTS.length][];
            for (int m = 0; m < OUTS.length; m++) {
                rank[m] = (s + m) % 3 == 0 ? 0 : 1 + rnd.nextInt(MAX_RANK); // some modules absent, ranks below the slot rank
                downT[m] = new float[IN * MAX_RANK];
                upT[m] = new float[MAX_RANK * OUTS[m]];
                for (int j = 0; j < IN; j++) {
                    for (int k = 0; k < rank[m]; k++) {
                        downT[m][j * MAX_RANK + k] = (float) rnd.nextGaussian();
                    }
                }
                for (int i = 0; i < rank[m] * OUTS[m]; i++) {
                    upT[m][i] = (float) rnd.nextGaussian();
                }
            }
            slots[s] = new Slot(rank, downT, upT);
        }
        return slots;
    }

    private static HostLowRankGroup load(Slot[] slots, boolean bf16) {
        HostLowRankGroup g = new HostLowRankGroup(SLOTS, MAX_RANK, IN, OUTS, COLUMNS, OUT_TOTAL, bf16);
        for (int s = 1; s < SLOTS; s++) {
            for (int m = 0; m < OUTS.length; m++) {
                if (slots[s].rank()[m] > 0) {
                    g.load(s, m, slots[s].rank()[m], slots[s].downT()[m], slots[s].upT()[m]);
                }
            }
        }
        return g;
    }

    /** The oracle; {@code round} maps each stored weight (identity for fp32, bf16 rounding for bf16). */
    private static double[] oracle(Slot[] slots, float[] x, float[] base, int tokensPerRow, int[] slotOfRow, boolean bf16) {
        int tokens = x.length / IN;
        double[] y = new double[base.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = base[i];
        }
        for (int t = 0; t < tokens; t++) {
            int s = slotOfRow[t / tokensPerRow];
            if (s == 0) {
                continue;
            }
            for (int m = 0; m < OUTS.length; m++) {
                for (int k = 0; k < slots[s].rank()[m]; k++) {
                    double xa = 0;
                    for (int j = 0; j < IN; j++) {
                        xa += stored(slots[s].downT()[m][j * MAX_RANK + k], bf16) * x[t * IN + j];
                    }
                    for (int o = 0; o < OUTS[m]; o++) {
                        y[t * OUT_TOTAL + COLUMNS[m] + o] += xa * stored(slots[s].upT()[m][k * OUTS[m] + o], bf16);
                    }
                }
            }
        }
        return y;
    }

    private static double stored(float w, boolean bf16) {
        return bf16 ? HostLowRankGroup.fromBf16(HostBf16Matrix.toBf16(w)) : w;
    }

    private static void check(boolean bf16, int[] slotOfRow, int tokensPerRow) {
        Random rnd = new Random(7 + slotOfRow.length * 31L + tokensPerRow);
        Slot[] slots = randomSlots(rnd);
        HostLowRankGroup g = load(slots, bf16);
        int tokens = slotOfRow.length * tokensPerRow;
        float[] x = new float[tokens * IN];
        float[] y = new float[tokens * OUT_TOTAL];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) rnd.nextGaussian();
        }
        double[] expected = oracle(slots, x, y, tokensPerRow, slotOfRow, bf16);
        g.addTo(x, tokens, tokensPerRow, slotOfRow, y);
        for (int i = 0; i < y.length; i++) {
            assertEquals(expected[i], y[i], 1e-4 * Math.max(1, Math.abs(expected[i])),
                    (bf16 ? "bf16" : "fp32") + " token " + i / OUT_TOTAL + " column " + i % OUT_TOTAL);
        }
    }

    @Test
    void distinctSlotsMatchTheOracle() {
        check(false, new int[] {1, 2, 3, 4}, 1);
        check(true, new int[] {1, 2, 3, 4}, 1);
    }

    @Test
    void repeatedUnsortedAndBaseOnlyRowsMatchTheOracle() {
        check(false, new int[] {3, 1, 3, 0, 2, 3, 4, 1}, 1);
        check(true, new int[] {3, 1, 3, 0, 2, 3, 4, 1}, 1);
    }

    @Test
    void severalTokensPerRowMatchTheOracle() {
        check(false, new int[] {2, 0, 4}, 3);
        check(true, new int[] {2, 0, 4}, 3);
    }

    @Test
    void aClearedSlotAddsNothing() {
        Slot[] slots = randomSlots(new Random(3));
        HostLowRankGroup g = load(slots, false);
        g.clear(2);
        float[] x = new float[IN];
        java.util.Arrays.fill(x, 1f);
        float[] y = new float[OUT_TOTAL];
        g.addTo(x, 1, 1, new int[] {2}, y);
        for (float v : y) {
            assertEquals(0f, v);
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, HostBf16Matrix.toBf16(1f));
        assertEquals((short) 0x3F80, HostBf16Matrix.toBf16(Float.intBitsToFloat(0x3F808000))); // tie, even stays
        assertEquals((short) 0x3F82, HostBf16Matrix.toBf16(Float.intBitsToFloat(0x3F818000))); // tie, odd rounds up
        assertEquals((short) 0x3F81, HostBf16Matrix.toBf16(Float.intBitsToFloat(0x3F808001))); // above the tie
        assertEquals((short) 0xBF80, HostBf16Matrix.toBf16(-1f));
        assertEquals(-1.5f, HostLowRankGroup.fromBf16((short) 0xBFC0));
        assertTrue(Math.abs(HostLowRankGroup.fromBf16(HostBf16Matrix.toBf16(0.1f)) - 0.1f) <= 0.1f / 256);
    }
}
