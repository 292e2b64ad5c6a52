package dev.chorus.engine.compressed;

/** INT4 codes two per byte: element 2k in the low nibble, 2k+1 in the high nibble; rows padded to ceil(cols/2) bytes. */
public final class Int4Packing {
    private Int4Packing() {
    }

    public static byte[] pack(byte[] codes, int rows, int cols) {
        if (codes.length != (long) rows * cols) {
            throw new IllegalArgumentException("expected " + (long) rows * cols + " codes, got " + codes.length);
        }
        int stride = (cols + 1) / 2;
        byte[] out = new byte[rows * stride];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int code = codes[r * cols + c] & 0xFF;
                if (code > 15) {
                    throw new IllegalArgumentException("code " + code + " at (" + r + ", " + c + ") does not fit in 4 bits");
                }
                out[r * stride + c / 2] |= (byte) ((c & 1) == 0 ? code : code << 4);
            }
        }
        return out;
    }

    public static byte[] unpack(byte[] packed, int rows, int cols) {
        int stride = (cols + 1) / 2;
        if (packed.length != (long) rows * stride) {
            throw new IllegalArgumentException("packed INT4 data has " + packed.length + " bytes, expected " + (long) rows * stride
                    + " for " + rows + "x" + cols);
        }
        byte[] out = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int b = packed[r * stride + c / 2] & 0xFF;
                out[r * cols + c] = (byte) ((c & 1) == 0 ? b & 0x0F : b >>> 4);
            }
        }
        return out;
    }
}
