package dev.chorus.engine.compressed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Int4PackingTest {
    @ParameterizedTest
    @CsvSource({"5, 16", "7, 13", "1, 1", "3, 2", "4, 33"})
    void roundTripsRandomCodes(int rows, int cols) {
        Random rnd = new Random(rows * 131L + cols);
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) rnd.nextInt(16);
        }
        byte[] packed = Int4Packing.pack(codes, rows, cols);
        assertEquals(rows * ((cols + 1) / 2), packed.length);
        assertArrayEquals(codes, Int4Packing.unpack(packed, rows, cols));
    }

    @Test
    void exactByteLayout() {
        // 2 rows x 3 cols: row stride 2 bytes, element 2k low nibble, 2k+1 high nibble, odd tail padded with 0.
        byte[] codes = {0x1, 0x2, 0x3, 0xF, 0x0, 0xA};
        byte[] packed = Int4Packing.pack(codes, 2, 3);
        assertArrayEquals(new byte[] {(byte) 0x21, (byte) 0x03, (byte) 0x0F, (byte) 0x0A}, packed);
        assertArrayEquals(codes, Int4Packing.unpack(packed, 2, 3));

        byte[] even = Int4Packing.pack(new byte[] {0xE, 0x7, 0x0, 0xF}, 1, 4);
        assertArrayEquals(new byte[] {(byte) 0x7E, (byte) 0xF0}, even);
    }

    @Test
    void unpackReadsNibblesUnsigned() {
        byte[] out = Int4Packing.unpack(new byte[] {(byte) 0xFF, (byte) 0x80}, 1, 4);
        assertArrayEquals(new byte[] {15, 15, 0, 8}, out);
    }

    @Test
    void packRejectsCodesAbove15() {
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.pack(new byte[] {1, 16}, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.pack(new byte[] {(byte) 0xFF, 0}, 1, 2));
    }

    @Test
    void rejectsWrongLengths() {
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.unpack(new byte[3], 1, 4));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.unpack(new byte[2], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.unpack(new byte[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> Int4Packing.pack(new byte[5], 2, 3));
    }
}
