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

    /** 2: INT4 linears store only their kept codes ({@link KeptInt4Codes}); 1 stored every code. */
    public static final int FORMAT_VERSION = 2;
    public static final int OLDEST_READABLE_VERSION = 1;

    /** This manifest as the current format writes it. */
    public CompressionManifest current() {
        return new CompressionManifest(FORMAT_VERSION, pattern, sparsity, bits, groupSize, symmetric, method, gptq, ebft, bcqPlanes,
                sourceFingerprint, calibration);
    }
}
