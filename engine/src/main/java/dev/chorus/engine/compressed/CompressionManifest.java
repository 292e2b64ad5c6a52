package dev.chorus.engine.compressed;

/**
 * What chorus_compression.json records about how a checkpoint was compressed. {@code bits} is null
 * for sparsity-only checkpoints; {@code bcqPlanes} is non-null for binary-coding quantization.
 */
public record CompressionManifest(
        int formatVersion,
        String pattern,
        double sparsity,
        Integer bits,
        Integer groupSize,
        Boolean symmetric,
        String method,
        boolean gptq,
        boolean ebft,
        Integer bcqPlanes,
        String sourceFingerprint,
        String calibration) {

    public static final int FORMAT_VERSION = 1;
}
