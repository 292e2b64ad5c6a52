package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

/**
 * Round-to-nearest group-wise quantization. Each group's range is taken over its kept entries and
 * always contains 0, so the integer zero point z lies in [0, maxCode] and a pruned entry (coded z)
 * dequantizes to exactly 0. Asymmetric: s = (max − min)/maxCode, z = round(−min/s). Symmetric:
 * z = 2^(bits−1) fixed, s = max|w| / (2^(bits−1) − 1), so codes stay in [1, maxCode] unclipped.
 * Either way every kept weight is within s/2 of its dequantized value.
 */
public final class GroupQuantizer {
    private GroupQuantizer() {
    }

    public static QuantizedMatrix quantize(float[] w, int rows, int cols, SparsityMask mask, QuantSpec spec) {
        int groups = spec.groups(cols);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int from = g * spec.groupSize();
                int to = Math.min(cols, from + spec.groupSize());
                GroupScale gs = scaleFor(w, r * cols, from, to, r, mask, spec);
                scales[r * groups + g] = gs.scale();
                zeros[r * groups + g] = (byte) gs.zero();
                for (int c = from; c < to; c++) {
                    codes[r * cols + c] = (byte) (mask.kept(r, c) ? gs.code(w[r * cols + c], spec) : gs.zero());
                }
            }
        }
        return new QuantizedMatrix(rows, cols, spec, codes, scales, zeros, mask);
    }

    /** A group's scale and zero point. */
    record GroupScale(float scale, int zero) {
        int code(double value, QuantSpec spec) {
            long q = Math.round(value / scale) + zero;
            return (int) Math.max(0, Math.min(spec.maxCode(), q));
        }

        double dequantize(int code) {
            return scale * (code - zero);
        }
    }

    /** Scale and zero point of the kept entries w[offset + from .. offset + to) of row r. */
    static GroupScale scaleFor(float[] w, int offset, int from, int to, int row, SparsityMask mask, QuantSpec spec) {
        return scaleFor(i -> w[offset + i], from, to, row, mask, spec);
    }

    static GroupScale scaleFor(java.util.function.IntToDoubleFunction value, int from, int to, int row, SparsityMask mask, QuantSpec spec) {
        double min = 0;
        double max = 0;
        for (int c = from; c < to; c++) {
            if (mask.kept(row, c)) {
                double v = value.applyAsDouble(c);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        if (spec.symmetric()) {
            int half = 1 << (spec.bits() - 1);
            double amax = Math.max(-min, max);
            return new GroupScale(amax == 0 ? 1f : (float) (amax / (half - 1)), half);
        }
        if (max - min == 0) {
            return new GroupScale(1f, 0);
        }
        float scale = (float) ((max - min) / spec.maxCode());
        int zero = (int) Math.max(0, Math.min(spec.maxCode(), Math.round(-min / scale)));
        return new GroupScale(scale, zero);
    }
}
