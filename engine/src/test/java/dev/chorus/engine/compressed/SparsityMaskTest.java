package dev.chorus.engine.compressed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SparsityMaskTest {
    private static boolean[] randomKeep(long seed, int n) {
        Random rnd = new Random(seed);
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            keep[i] = rnd.nextInt(3) != 0;
        }
        return keep;
    }

    @ParameterizedTest
    @CsvSource({"3, 8", "5, 13", "4, 1", "2, 17", "7, 64"})
    void ofKeptPackedRoundTrip(int rows, int cols) {
        boolean[] keep = randomKeep(rows * 100L + cols, rows * cols);
        SparsityMask mask = SparsityMask.of(rows, cols, keep);
        long count = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                assertEquals(keep[r * cols + c], mask.kept(r, c), "(" + r + ", " + c + ")");
                count += keep[r * cols + c] ? 1 : 0;
            }
        }
        assertEquals(count, mask.keptCount());
        assertEquals(1.0 - (double) count / (rows * cols), mask.sparsity(), 1e-15);
        byte[] packed = mask.packed();
        assertEquals(rows * ((cols + 7) / 8), packed.length);
        assertEquals(packed.length, mask.packedBytes());
        SparsityMask back = SparsityMask.fromPacked(rows, cols, packed);
        assertEquals(mask, back);
        assertEquals(mask.hashCode(), back.hashCode());
        packed[0] ^= 1; // packed() is a copy; fromPacked copied its input
        assertEquals(mask, back);
        assertArrayEquals(mask.packed(), back.packed());
    }

    @Test
    void exactPackedLayout() {
        // 2 x 10: row stride 2 bytes, LSB first.
        boolean[] keep = new boolean[20];
        keep[0] = true;
        keep[3] = true;
        keep[9] = true;
        keep[10 + 8] = true;
        SparsityMask mask = SparsityMask.of(2, 10, keep);
        assertArrayEquals(new byte[] {0b1001, 0b10, 0, 0b1}, mask.packed());
        assertEquals(4, mask.keptCount());
        assertEquals(0.8, mask.sparsity(), 1e-15);
    }

    @Test
    void fromPackedRejectsPaddingBitsAndWrongLength() {
        // cols = 13 → bits 5..7 of each row's second byte are padding.
        byte[] ok = {(byte) 0xFF, 0x1F, 0x01, 0x00};
        assertEquals(13 + 1, SparsityMask.fromPacked(2, 13, ok).keptCount());
        assertThrows(IllegalArgumentException.class, () -> SparsityMask.fromPacked(2, 13, new byte[] {(byte) 0xFF, 0x20, 0, 0}));
        assertThrows(IllegalArgumentException.class, () -> SparsityMask.fromPacked(2, 13, new byte[] {0, 0, 0, (byte) 0x80}));
        assertThrows(IllegalArgumentException.class, () -> SparsityMask.fromPacked(2, 13, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> SparsityMask.fromPacked(2, 13, new byte[5]));
        // cols a multiple of 8: no padding, every bit is valid.
        assertEquals(16, SparsityMask.fromPacked(1, 16, new byte[] {(byte) 0xFF, (byte) 0xFF}).keptCount());
        assertThrows(IllegalArgumentException.class, () -> SparsityMask.of(2, 3, new boolean[5]));
    }

    @Test
    void allKeptAndNonZeros() {
        SparsityMask all = SparsityMask.allKept(3, 11);
        assertEquals(33, all.keptCount());
        assertEquals(0.0, all.sparsity());
        SparsityMask nz = SparsityMask.nonZeros(new float[] {0f, 1f, -0f, -2f, 0.5f, 0f}, 2, 3);
        assertEquals(SparsityMask.of(2, 3, new boolean[] {false, true, false, true, true, false}), nz);
        assertNotEquals(SparsityMask.of(3, 2, new boolean[] {false, true, false, true, true, false}), nz);
    }

    @Test
    void applyZeroesExactlyThePrunedEntries() {
        int rows = 4;
        int cols = 13;
        boolean[] keep = randomKeep(9, rows * cols);
        SparsityMask mask = SparsityMask.of(rows, cols, keep);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = i + 1;
        }
        mask.apply(w);
        for (int i = 0; i < w.length; i++) {
            assertEquals(keep[i] ? i + 1 : 0f, w[i], "entry " + i);
        }
    }
}
