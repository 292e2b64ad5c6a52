package dev.chorus.engine.compress;

import java.util.Objects;
import java.util.Optional;

/**
 * How to compress: a sparsity pattern chosen by Wanda or magnitude scores, optional EBFT repair,
 * then a quantization (possibly none).
 */
public record CompressionSettings(
        SparsityPattern pattern,
        PruningMethod method,
        Optional<EbftRepair.Settings> repair, // empty: no EBFT repair
        Quantization quantization) {

    public CompressionSettings {
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(repair, "repair");
        Objects.requireNonNull(quantization, "quantization");
    }

    /** Calibration must also collect the inputs' Gram matrices (GPTQ's Hessian). */
    boolean needsGram() {
        return quantization instanceof Quantization.GroupWise g && g.gptq();
    }
}
