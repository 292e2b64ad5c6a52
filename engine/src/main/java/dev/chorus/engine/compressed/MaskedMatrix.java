package dev.chorus.engine.compressed;

/** A pruned but unquantized weight: float32 values with zeros where the mask prunes. */
public record MaskedMatrix(int rows, int cols, float[] values, SparsityMask mask) implements CompressedMatrix {
    public MaskedMatrix {
        if (values.length != (long) rows * cols || mask.rows() != rows || mask.cols() != cols) {
            throw new IllegalArgumentException("values/mask do not match " + rows + "x" + cols);
        }
    }

    @Override
    public float[] dequantize() {
        float[] out = values.clone();
        mask.apply(out);
        return out;
    }

    @Override
    public long residentBytes() {
        return (long) values.length * Float.BYTES + mask.packedBytes();
    }
}
