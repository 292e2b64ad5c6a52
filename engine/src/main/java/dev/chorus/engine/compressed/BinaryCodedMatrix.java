package dev.chorus.engine.compressed;

/**
 * Binary-coding quantization (AlphaTuning's base format): W[r, c] ≈ Σ_{i<q} alphas[i, r]·B_i[r, c]
 * with B_i ∈ {−1, +1}, and 0 where the mask prunes. signs[i] holds B_i bit-packed like a mask
 * (bit set = +1).
 */
public record BinaryCodedMatrix(
        int rows,
        int cols,
        int q,
        float[] alphas, // [q, rows]
        byte[][] signs, // q × [rows, ceil(cols/8)]
        SparsityMask mask) implements CompressedMatrix {

    public BinaryCodedMatrix {
        if (q < 1 || alphas.length != (long) q * rows || signs.length != q) {
            throw new IllegalArgumentException("alphas/signs do not match q=" + q + " and " + rows + " rows");
        }
        for (byte[] s : signs) {
            if (s.length != (long) rows * SparsityMask.bytesPerRow(cols)) {
                throw new IllegalArgumentException("sign plane has " + s.length + " bytes for a " + rows + "x" + cols + " matrix");
            }
        }
    }

    public boolean positive(int plane, int row, int col) {
        return (signs[plane][row * SparsityMask.bytesPerRow(cols) + (col >>> 3)] >>> (col & 7) & 1) != 0;
    }

    @Override
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (!mask.kept(r, c)) {
                    continue;
                }
                float v = 0f;
                for (int i = 0; i < q; i++) {
                    float a = alphas[i * rows + r];
                    v += positive(i, r, c) ? a : -a;
                }
                out[r * cols + c] = v;
            }
        }
        return out;
    }

    @Override
    public long residentBytes() {
        long planes = 0;
        for (byte[] s : signs) {
            planes += s.length;
        }
        return planes + (long) alphas.length * Float.BYTES + mask.packedBytes();
    }
}
