package dev.chorus.engine.compressed;

/** A compressed [rows, cols] weight (rows = outputs, cols = inputs) that can be expanded to float32. */
public sealed interface CompressedMatrix permits QuantizedMatrix, BinaryCodedMatrix, MaskedMatrix {
    int rows();

    int cols();

    SparsityMask mask();

    /** Row-major float32 [rows, cols]; pruned entries are exactly 0. */
    float[] dequantize();

    /** Bytes of the resident form: packed codes, scales, zero points and the packed mask. */
    long residentBytes();
}
