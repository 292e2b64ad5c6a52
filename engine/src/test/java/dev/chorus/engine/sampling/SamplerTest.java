package dev.chorus.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.chorus.engine.InvalidRequestException;
import org.junit.jupiter.api.Test;

class SamplerTest {
    static final float[] LOGITS = {1f, 3f, 2f, 0f, 2.5f};

    @Test
    void greedyTakesTheArgmaxAndTheLowestIndexOnTies() {
        assertEquals(1, new Sampler(SamplingParams.GREEDY).next(LOGITS));
        assertEquals(0, Sampler.argMax(new float[] {5f, 5f, 1f}));
    }

    @Test
    void argMaxOfOneRowOfFlatLogitsCountsFromTheRowsStart() {
        float[] rows = {9f, 1f, 0f, /* row 1: */ 1f, 4f, 4f, /* row 2: */ 2f, 1f, 7f};
        assertEquals(0, Sampler.argMax(rows, 0, 3));
        assertEquals(1, Sampler.argMax(rows, 3, 6)); // the lowest index on ties, and never a larger value of another row
        assertEquals(2, Sampler.argMax(rows, 6, 9));
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        for (long seed = 0; seed < 20; seed++) {
            assertEquals(1, new Sampler(new SamplingParams(1f, 1, 1f, seed)).next(LOGITS));
            assertEquals(1, new Sampler(new SamplingParams(5f, 0, 1e-6f, seed)).next(LOGITS));
        }
    }

    @Test
    void frequenciesFollowTheTemperedSoftmax() {
        Sampler s = new Sampler(new SamplingParams(2f, 0, 1f, 99));
        int n = 200_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[s.next(LOGITS)]++;
        }
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l / 2.0);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double p = Math.exp(LOGITS[i] / 2.0) / z;
            assertEquals(p, counts[i] / (double) n, 0.005, "token " + i);
        }
    }

    @Test
    void topKAndTopPRestrictTheCandidates() {
        // top-k 2 keeps ids 1 and 4; top-p 0.5 at T=1 keeps id 1 (p≈0.40) and id 4 (p≈0.24).
        Sampler k = new Sampler(new SamplingParams(1f, 2, 1f, 5));
        Sampler p = new Sampler(new SamplingParams(1f, 0, 0.5f, 5));
        boolean sawFour = false;
        for (int i = 0; i < 5000; i++) {
            int a = k.next(LOGITS);
            int b = p.next(LOGITS);
            assertEquals(true, a == 1 || a == 4, "top-k drew " + a);
            assertEquals(true, b == 1 || b == 4, "top-p drew " + b);
            sawFour |= a == 4;
        }
        assertEquals(true, sawFour);
    }

    @Test
    void sameSeedSameDrawsDifferentSeedDifferentDraws() {
        int[] a = draws(7);
        int[] b = draws(7);
        int[] c = draws(8);
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(-0.1f, 0, 1f, 0));
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(Float.NaN, 0, 1f, 0));
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(1f, -1, 1f, 0));
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(1f, 0, 0f, 0));
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(1f, 0, 1.01f, 0));
    }

    private static int[] draws(long seed) {
        Sampler s = new Sampler(new SamplingParams(1f, 0, 1f, seed));
        int[] out = new int[64];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.next(LOGITS);
        }
        return out;
    }
}
