package dev.chorus.engine.compressed;

/**
 * Group-wise integer quantization along the input dimension: each run of {@code groupSize}
 * consecutive inputs of a row shares a scale s and an integer zero point z; W ≈ s·(Q − z) with
 * Q in [0, 2^bits − 1]. Symmetric uses z = 2^(bits−1) for every group.
 */
public record QuantSpec(int bits, int groupSize, boolean symmetric) {
    public QuantSpec {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        }
        if (groupSize != 32 && groupSize != 64 && groupSize != 128) {
            throw new IllegalArgumentException("group size must be 32, 64 or 128, got " + groupSize);
        }
    }

    public int maxCode() {
        return (1 << bits) - 1;
    }

    /** Groups per row of a matrix with {@code cols} inputs (the last group may be shorter). */
    public int groups(int cols) {
        return (cols + groupSize - 1) / groupSize;
    }
}
