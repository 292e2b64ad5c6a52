package dev.chorus.engine.llama;

/**
 * Which dimensions of a head RoPE rotates together. Hugging Face Llama weights are laid out for
 * rotating (i, i + headDim/2); llama2.c checkpoints (Meta layout) rotate adjacent pairs (2i, 2i+1).
 */
public enum RopeStyle {
    HALF_SPLIT, INTERLEAVED
}
