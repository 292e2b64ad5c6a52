package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import dev.chorus.engine.llama.BlockInput;

/** Per-row additions to the block linears' outputs (each row's adapter); the forward calls it once per block input. */
@FunctionalInterface
public interface RowAdapters {
    /**
     * x [B, L, in] the input of {@code input}'s projections, base[i] [B, L, out_i] = Ŵ_i x for the
     * i-th of {@code input.projections()}; returns the adapted outputs in the same order.
     */
    NDArray[] apply(int layer, BlockInput input, NDArray x, NDArray... base);
}
