package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.chorus.engine.llama.BlockInput;

/** Per-row additions to the block linears' outputs (each row's adapter); the forward calls it once per block input. */
@FunctionalInterface
public interface RowAdapters {
    /**
     * x [B, L, in] the input of {@code input}'s projections, base[i] [B, L, out_i] = Ŵ_i x for the
     * i-th of {@code input.projections()}; returns the adapted outputs in the same order.
     */
    NDArray[] apply(int layer, BlockInput input, NDArray x, NDArray... base);

    /**
     * The same on the stacked output y [B, L, Σ out_i] of all of {@code input}'s projections, split
     * at {@code splits} along the last axis (null: a single projection); returns the adapted stacked
     * output. Implementations that can add to the stacked output directly override it: y is the
     * linear's own fresh, contiguous output (every {@link LinearLayer} returns one), so they may add
     * into it in place through its memory.
     */
    default NDArray applyStacked(int layer, BlockInput input, NDArray x, NDArray y, long[] splits) {
        NDArray[] base = splits == null ? new NDArray[] {y} : y.split(splits, 2).toArray(new NDArray[0]);
        NDArray[] adapted = apply(layer, input, x, base);
        return adapted.length == 1 ? adapted[0] : NDArrays.concat(new NDList(adapted), -1);
    }
}
