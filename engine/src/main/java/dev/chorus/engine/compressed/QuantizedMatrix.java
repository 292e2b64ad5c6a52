package dev.chorus.engine.compressed;

/**
 * W[r, c] ≈ scales[r, g]·(codes[r, c] − zeros[r, g] − shift[r, g]) with g = c / groupSize. Codes
 * are unsigned (0..2^bits−1, one per byte here; INT4 packs two per byte when stored). A pruned
 * entry has code = its group's zero point, so it dequantizes to exactly 0. {@code zeroShift} is null
 * unless a QA-LoRA-style adapter was folded in (a delta constant over each group moves the zero
 * point off the integer grid, QA-LoRA §3): then pruned entries dequantize to that delta, exactly as
 * the unmerged adapter computed — the fold keeps the integer codes, not the zeros (QA-SparsePEFT does).
 */
public record QuantizedMatrix(
        int rows,
        int cols,
        QuantSpec spec,
        byte[] codes, // [rows, cols], unsigned
        float[] scales, // [rows, groups]
        byte[] zeros, // [rows, groups], unsigned integer zero points
        SparsityMask mask,
        float[] zeroShift) implements CompressedMatrix { // [rows, groups] or null

    public QuantizedMatrix(int rows, int cols, QuantSpec spec, byte[] codes, float[] scales, byte[] zeros, SparsityMask mask) {
        this(rows, cols, spec, codes, scales, zeros, mask, null);
    }

    public QuantizedMatrix {
        int groups = spec.groups(cols);
        if (codes.length != (long) rows * cols || scales.length != (long) rows * groups || zeros.length != (long) rows * groups) {
            throw new IllegalArgumentException("codes/scales/zeros do not match " + rows + "x" + cols + " with " + groups + " groups per row");
        }
        if (mask.rows() != rows || mask.cols() != cols) {
            throw new IllegalArgumentException("mask does not match " + rows + "x" + cols);
        }
        if (zeroShift != null && zeroShift.length != (long) rows * groups) {
            throw new IllegalArgumentException("zero shifts do not match " + rows + "x" + groups);
        }
    }

    /** The zero point of (row, group) including any folded shift. */
    public float effectiveZero(int row, int group) {
        int i = row * spec.groups(cols) + group;
        return (zeros[i] & 0xFF) + (zeroShift == null ? 0f : zeroShift[i]);
    }

    public int code(int row, int col) {
        return codes[row * cols + col] & 0xFF;
    }

    public int zero(int row, int group) {
        return zeros[row * spec.groups(cols) + group] & 0xFF;
    }

    public float scale(int row, int group) {
        return scales[row * spec.groups(cols) + group];
    }

    @Override
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        int g = spec.groupSize();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int group = c / g;
                out[r * cols + c] = scale(r, group) * (code(r, c) - effectiveZero(r, group));
            }
        }
        return out;
    }

    /**
     * INT4: the kept codes, two per byte, with a row offset each ({@link SparseInt4Matrix}); INT8:
     * every code. Plus scales, zero points, mask and any folded shifts.
     */
    @Override
    public long residentBytes() {
        long codeBytes = spec.bits() == 4 ? (mask.keptCount() + 1) / 2 + (long) rows * Integer.BYTES : (long) rows * cols;
        return codeBytes + (long) scales.length * Float.BYTES + zeros.length + mask.packedBytes()
                + (zeroShift == null ? 0 : (long) zeroShift.length * Float.BYTES);
    }
}
