package dev.chorus.engine.checkpoint;

/** Element types of the safetensors format; {@link #code()} is the spelling used in the JSON header. */
public enum TensorDtype {
    F32(4),
    F16(2),
    BF16(2),
    F64(8),
    I8(1),
    U8(1),
    I16(2),
    I32(4),
    I64(8),
    BOOL(1);

    private final int byteSize;

    TensorDtype(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The header spelling, e.g. "BF16". */
    public String code() {
        return name();
    }

    /** Parses a header dtype code (case-sensitive, as the format defines it). */
    public static TensorDtype fromCode(String code) {
        if (code != null) {
            for (TensorDtype dtype : values()) {
                if (dtype.name().equals(code)) {
                    return dtype;
                }
            }
        }
        throw new CheckpointFormatException("unknown dtype \"" + code + "\"");
    }
}
