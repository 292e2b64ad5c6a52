package dev.chorus.engine.model;

/** Where decode steps (one new token per sequence) run on a CPU. */
public enum DecodePath {
    /** The engine's own Java kernels ({@link HostDecoder}): no per-op dispatch; dense weights also kept in Java arrays (fp32). */
    HOST,
    /** As HOST with the Java copies rounded to bf16: half their memory and bytes per step, within a tested tolerance of fp32. */
    HOST_BF16,
    /** Every step through the backend's ops, as prompts always are. */
    BACKEND
}
