package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.QuantSpec;

/**
 * How to compress: a sparsity pattern chosen by Wanda or magnitude scores, optional EBFT repair,
 * then group-wise INT4/INT8 (round-to-nearest or GPTQ) or binary-coding quantization, or neither.
 */
public record CompressionSettings(
        SparsityPattern pattern,
        boolean wanda,
        boolean ebft,
        EbftRepair.Settings ebftSettings,
        QuantSpec quantization, // null: no integer quantization
        boolean gptq,
        int bcqPlanes) { // 0: no binary coding

    public CompressionSettings {
        if (quantization != null && bcqPlanes > 0) {
            throw new IllegalArgumentException("choose either integer quantization (--bits) or binary coding (--bcq), not both");
        }
        if (gptq && quantization == null) {
            throw new IllegalArgumentException("--gptq needs integer quantization (--bits 4 or 8)");
        }
        if (bcqPlanes < 0 || bcqPlanes > 4) {
            throw new IllegalArgumentException("--bcq must be between 2 and 4 planes");
        }
    }

    public String method() {
        return wanda ? "wanda" : "magnitude";
    }
}
