package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.QuantSpec;

/** The last compression step: none (sparse float weights), group-wise integers, or binary coding. */
public sealed interface Quantization {
    /** Pruned (and repaired) weights are stored as floats with their mask. */
    record None() implements Quantization {
    }

    /** INT4/INT8 per group of inputs, rounded to nearest or with GPTQ's error compensation. */
    record GroupWise(QuantSpec spec, boolean gptq) implements Quantization {
        public GroupWise {
            if (spec == null) {
                throw new IllegalArgumentException("group-wise quantization needs its bits and group size");
            }
        }
    }

    /** AlphaTuning's base: W ≈ Σ diag(α_i)·B_i over {@code planes} sign planes. */
    record BinaryCoding(int planes) implements Quantization {
        public static final int MIN_PLANES = 2;
        public static final int MAX_PLANES = 4;

        public BinaryCoding {
            if (planes < MIN_PLANES || planes > MAX_PLANES) {
                throw new IllegalArgumentException("binary coding needs " + MIN_PLANES + " to " + MAX_PLANES + " planes, got " + planes);
            }
        }
    }
}
