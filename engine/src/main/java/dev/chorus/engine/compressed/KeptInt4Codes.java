package dev.chorus.engine.compressed;

/**
 * The INT4 codes of a sparse matrix with only the kept entries stored (the mask says where they
 * go; a pruned entry's code is its group's zero point, so it needs no storage). Row by row, group
 * by group, a group with n kept codes takes h = ceil(n/2) bytes: byte j holds kept code j in its
 * low nibble and kept code j + h in its high nibble. Splitting the group's codes into a low half
 * and a high half (instead of neighbours sharing a byte) lets a vector kernel unpack each half with
 * one mask or one shift into consecutive lanes. Groups start on a byte boundary.
 */
public final class KeptInt4Codes {
    private KeptInt4Codes() {
    }

    /** Bytes the kept codes of a matrix with this mask take. */
    public static long length(SparsityMask mask, int groupSize) {
        long total = 0;
        for (int r = 0; r < mask.rows(); r++) {
            for (int c0 = 0; c0 < mask.cols(); c0 += groupSize) {
                total += (keptIn(mask, r, c0, Math.min(mask.cols(), c0 + groupSize)) + 1) / 2;
            }
        }
        return total;
    }

    /** Packs the kept entries of {@code codes} [rows, cols] (one unsigned code per byte). */
    public static byte[] pack(byte[] codes, SparsityMask mask, int groupSize) {
        int rows = mask.rows();
        int cols = mask.cols();
        byte[] out = new byte[Math.toIntExact(length(mask, groupSize))];
        int at = 0;
        int[] kept = new int[groupSize];
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += groupSize) {
                int n = 0;
                for (int c = c0; c < Math.min(cols, c0 + groupSize); c++) {
                    if (mask.kept(r, c)) {
                        int code = codes[r * cols + c] & 0xFF;
                        if (code > 15) {
                            throw new IllegalArgumentException("code " + code + " at (" + r + ", " + c + ") does not fit in 4 bits");
                        }
                        kept[n++] = code;
                    }
                }
                int h = (n + 1) / 2;
                for (int j = 0; j < h; j++) {
                    int high = j + h < n ? kept[j + h] : 0;
                    out[at + j] = (byte) (kept[j] | high << 4);
                }
                at += h;
            }
        }
        return out;
    }

    /** The dense codes [rows, cols]: kept entries from {@code packed}, pruned ones at their group's zero point. */
    public static byte[] unpack(byte[] packed, SparsityMask mask, int groupSize, byte[] zeros) {
        int rows = mask.rows();
        int cols = mask.cols();
        int groups = (cols + groupSize - 1) / groupSize;
        if (packed.length != length(mask, groupSize)) {
            throw new IllegalArgumentException("kept INT4 codes have " + packed.length + " bytes, the mask needs " + length(mask, groupSize));
        }
        byte[] out = new byte[Math.multiplyExact(rows, cols)];
        int at = 0;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int c0 = g * groupSize;
                int c1 = Math.min(cols, c0 + groupSize);
                int n = keptIn(mask, r, c0, c1);
                int h = (n + 1) / 2;
                int j = 0;
                for (int c = c0; c < c1; c++) {
                    if (!mask.kept(r, c)) {
                        out[r * cols + c] = zeros[r * groups + g];
                        continue;
                    }
                    int b = packed[at + (j < h ? j : j - h)] & 0xFF;
                    out[r * cols + c] = (byte) (j < h ? b & 0x0F : b >>> 4);
                    j++;
                }
                if (n % 2 == 1 && (packed[at + h - 1] & 0xF0) != 0) {
                    throw new IllegalArgumentException("row " + r + " group " + g + ": the unused high nibble is not zero");
                }
                at += h;
            }
        }
        return out;
    }

    private static int keptIn(SparsityMask mask, int row, int from, int to) {
        int n = 0;
        for (int c = from; c < to; c++) {
            if (mask.kept(row, c)) {
                n++;
            }
        }
        return n;
    }
}
