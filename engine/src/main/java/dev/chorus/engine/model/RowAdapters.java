package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import dev.chorus.engine.llama.BlockInput;

/** Per-row additions to the block linears' outputs (each row's adapter); the forward calls it once per block input. */
@FunctionalInterface
public interface RowAdapters {
    /**
     * x [B, L, in] the input of {@code input}'s projections; y [B, L, Σ out_i] their stacked output
     * Ŵx, split at {@code splits} along the last axis (null: a single projection). Returns the adapted
     * stacked output. y is the linear's own fresh, contiguous output (every {@link LinearLayer}
     * returns one), so an implementation may add into it in place through its memory.
     */
    NDArray apply(int layer, BlockInput input, NDArray x, NDArray y, long[] splits);

    /** Whether {@link #addOnHost} stands for {@link #apply} (adapters kept and applied on the host). */
    default boolean onHost() {
        return false;
    }

    /** The same addition on the host: y [rows, Σ out_i] += each row's adapter applied to x [rows, in] (one token per row). */
    default void addOnHost(int layer, BlockInput input, float[] x, int rows, float[] y) {
        throw new UnsupportedOperationException("these adapters apply on the backend only");
    }
}
