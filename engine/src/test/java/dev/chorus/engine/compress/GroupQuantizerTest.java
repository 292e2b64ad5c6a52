package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GroupQuantizerTest {
    private static final int ROWS = 9;
    private static final int COLS = 200; // not a multiple of any group size

    static Stream<Arguments> specs() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int bits : new int[] {4, 8}) {
            for (boolean symmetric : new boolean[] {true, false}) {
                for (int group : new int[] {32, 64, 128}) {
                    b.add(Arguments.of(bits, group, symmetric));
                }
            }
        }
        return b.build();
    }

    static SparsityMask randomHalfMask(long seed, int rows, int cols) {
        Random rnd = new Random(seed);
        boolean[] keep = new boolean[rows * cols];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = rnd.nextBoolean();
        }
        return SparsityMask.of(rows, cols, keep);
    }

    static float[] randomWeights(long seed, int rows, int cols) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            // Mixed magnitudes and an occasional all-positive / all-negative stretch.
            w[i] = (float) (rnd.nextGaussian() * (1 + 3 * rnd.nextDouble()) + (i / cols == 3 ? 5 : i / cols == 4 ? -5 : 0));
        }
        return w;
    }

    @ParameterizedTest(name = "INT{0} g{1} symmetric={2}")
    @MethodSource("specs")
    void maskedRandomMatrixStaysWithinHalfAStep(int bits, int groupSize, boolean symmetric) {
        QuantSpec spec = new QuantSpec(bits, groupSize, symmetric);
        float[] w = randomWeights(bits * 1000L + groupSize + (symmetric ? 1 : 0), ROWS, COLS);
        SparsityMask mask = randomHalfMask(77 + groupSize, ROWS, COLS);
        QuantizedMatrix q = GroupQuantizer.quantize(w, ROWS, COLS, mask, spec);
        assertEquals(spec.groups(COLS), COLS / groupSize + 1);
        assertEquals(ROWS * spec.groups(COLS), q.scales().length);
        float[] deq = q.dequantize();
        for (int r = 0; r < ROWS; r++) {
            for (int g = 0; g < spec.groups(COLS); g++) {
                int z = q.zero(r, g);
                assertTrue(z >= 0, "zero " + z + " below the code range");
                assertTrue(z <= spec.maxCode(), "zero " + z + " above the code range");
                if (symmetric) {
                    assertEquals(1 << (bits - 1), z);
                }
                float s = q.scale(r, g);
                assertTrue(s > 0, "scale " + s + " not positive");
                    assertTrue(Float.isFinite(s), "scale " + s + " not finite");
            }
            for (int c = 0; c < COLS; c++) {
                int i = r * COLS + c;
                int code = q.code(r, c);
                assertTrue(code >= 0, "code " + code + " below the code range");
                    assertTrue(code <= spec.maxCode(), "code " + code + " above the code range");
                if (!mask.kept(r, c)) {
                    assertEquals(0.0f, deq[i], "pruned (" + r + ", " + c + ")");
                    assertEquals(q.zero(r, c / groupSize), code);
                    continue;
                }
                double s = q.scale(r, c / groupSize);
                double err = Math.abs((double) w[i] - deq[i]);
                assertTrue(err <= s / 2 + 1e-6 * Math.abs(w[i]) + 1e-12,
                        "(" + r + ", " + c + ") w=" + w[i] + " deq=" + deq[i] + " s=" + s + " err=" + err);
            }
        }
    }

    @Test
    void symmetricScaleIsMaxAbsOverHalfMinusOne() {
        float[] w = {-7f, 1f, 3.5f, 2f, 100f};
        boolean[] keep = {true, true, true, true, false}; // the pruned 100 must not widen the range
        QuantizedMatrix q = GroupQuantizer.quantize(w, 1, 5, SparsityMask.of(1, 5, keep), new QuantSpec(4, 32, true));
        assertEquals(1f, q.scale(0, 0)); // 7 / (8 - 1)
        assertEquals(8, q.zero(0, 0));
        // -7 → 1, 1 → 9, 3.5 → round half up 4 → 12, 2 → 10, pruned → 8
        int[] expected = {1, 9, 12, 10, 8};
        for (int c = 0; c < 5; c++) {
            assertEquals(expected[c], q.code(0, c), "col " + c);
        }
        float[] deq = q.dequantize();
        assertEquals(-7f, deq[0]);
        assertEquals(4f, deq[2]);
        assertEquals(0f, deq[4]);
    }

    @Test
    void asymmetricHandCaseWithFloatScale() {
        // min -1, max 2 → s = (float) 0.2 = 0.200000003, z = round(4.9999999) = 5.
        // 0.5 / s = 2.4999999627 (just below the tie because s was rounded up to a float) → 2 → code 7.
        float[] w = {-1f, 0f, 0.5f, 2f};
        QuantizedMatrix q = GroupQuantizer.quantize(w, 1, 4, SparsityMask.allKept(1, 4), new QuantSpec(4, 32, false));
        assertEquals(0.2f, q.scale(0, 0));
        assertEquals(5, q.zero(0, 0));
        int[] expected = {0, 5, 7, 15};
        for (int c = 0; c < 4; c++) {
            assertEquals(expected[c], q.code(0, c), "col " + c);
        }
        float[] deq = q.dequantize();
        assertEquals(-1f, deq[0], 1e-6);
        assertEquals(0f, deq[1]);
        assertEquals(0.4f, deq[2], 1e-6);
        assertEquals(2f, deq[3], 1e-6);
    }

    @Test
    void asymmetricHandCaseRoundsHalfUp() {
        // min -1, max 14 → s = 15/15 = 1 exactly, z = 1; 2.5 → round half up 3 → code 4; -0.5 → round(-0.5) = 0 → code 1.
        float[] w = {-1f, 0f, 2.5f, 14f, -0.5f};
        QuantizedMatrix q = GroupQuantizer.quantize(w, 1, 5, SparsityMask.allKept(1, 5), new QuantSpec(4, 32, false));
        assertEquals(1f, q.scale(0, 0));
        assertEquals(1, q.zero(0, 0));
        int[] expected = {0, 1, 4, 15, 1};
        for (int c = 0; c < 5; c++) {
            assertEquals(expected[c], q.code(0, c), "col " + c);
        }
    }

    @Test
    void asymmetricAllPositiveGroupStillContainsZero() {
        // min clamps to 0: range [0, 30], s = 2, z = 0
        float[] w = {10f, 30f, 4f, 5f};
        QuantizedMatrix q = GroupQuantizer.quantize(w, 1, 4, SparsityMask.of(1, 4, new boolean[] {true, true, true, false}),
                new QuantSpec(4, 32, false));
        assertEquals(2f, q.scale(0, 0));
        assertEquals(0, q.zero(0, 0));
        int[] expected = {5, 15, 2, 0};
        for (int c = 0; c < 4; c++) {
            assertEquals(expected[c], q.code(0, c), "col " + c);
        }
        assertEquals(0f, q.dequantize()[3]);
    }

    @Test
    void allPrunedOrAllZeroGroupsDequantizeToZero() {
        float[] w = new float[2 * 40];
        for (int c = 32; c < 40; c++) {
            w[c] = 5f; // row 0, group 1 — pruned below
        }
        boolean[] keep = new boolean[80];
        for (int c = 0; c < 32; c++) {
            keep[c] = true; // row 0 group 0: kept zeros; everything else pruned
        }
        SparsityMask mask = SparsityMask.of(2, 40, keep);
        for (boolean symmetric : new boolean[] {true, false}) {
            float[] deq = GroupQuantizer.quantize(w, 2, 40, mask, new QuantSpec(8, 32, symmetric)).dequantize();
            for (float v : deq) {
                assertEquals(0f, v);
            }
        }
    }

    @Test
    void specRejectsUnsupportedSettings() {
        assertThrows(IllegalArgumentException.class, () -> new QuantSpec(3, 32, true));
        assertThrows(IllegalArgumentException.class, () -> new QuantSpec(4, 16, true));
        assertEquals(15, new QuantSpec(4, 32, true).maxCode());
        assertEquals(255, new QuantSpec(8, 32, false).maxCode());
    }
}
