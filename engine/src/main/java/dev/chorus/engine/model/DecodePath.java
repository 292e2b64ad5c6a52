package dev.chorus.engine.model;

/** Where decode steps (one new token per sequence) run on a CPU. */
public enum DecodePath {
    /** The engine's own Java kernels ({@link HostDecoder}): no per-op dispatch; the weights also live in Java arrays. */
    HOST,
    /** Every step through the backend's ops, as prompts always are. */
    BACKEND
}
