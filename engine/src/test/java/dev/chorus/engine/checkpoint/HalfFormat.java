package dev.chorus.engine.checkpoint;

import java.util.Arrays;

/** Round-to-nearest-even by search over every finite value of the format (independent of bit tricks). */
enum HalfFormat {
    F16(TensorDtype.F16, 0x7BFF, 0x7C00), BF16(TensorDtype.BF16, 0x7F7F, 0x7F80);

    final TensorDtype dtype;
    final int exponentMask;
    final float[] values; // values[bits] for every finite non-negative bit pattern, ascending

    HalfFormat(TensorDtype dtype, int maxFinite, int exponentMask) {
        this.dtype = dtype;
        this.exponentMask = exponentMask;
        values = new float[maxFinite + 1];
        for (int bits = 0; bits <= maxFinite; bits++) {
            values[bits] = decodeMagnitude(bits);
        }
    }

    float decodeMagnitude(int bits) {
        if (dtype == TensorDtype.BF16) {
            return Float.intBitsToFloat(bits << 16);
        }
        int exponent = bits >>> 10;
        int mantissa = bits & 0x3FF;
        return exponent == 0 ? Math.scalb((float) mantissa, -24) : Math.scalb((float) (1024 + mantissa), exponent - 25);
    }

    float decode(short bits) {
        float magnitude = decodeMagnitude(bits & 0x7FFF);
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }

    short round(float x) {
        int sign = (Float.floatToRawIntBits(x) >>> 31) << 15;
        float a = Math.abs(x);
        if (!(a <= values[values.length - 1])) {
            throw new AssertionError("weight " + x + " outside the finite range of " + this);
        }
        int lo = Arrays.binarySearch(values, a);
        if (lo < 0) {
            lo = -lo - 2; // largest value below a
            double twice = 2.0 * a; // exact; lo+hi is exact too (few significant bits, adjacent binades)
            double mid = (double) values[lo] + values[lo + 1];
            if (twice > mid || (twice == mid && (lo & 1) == 1)) {
                lo++;
            }
        }
        return (short) (sign | lo);
    }
}
