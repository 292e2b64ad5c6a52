package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import dev.chorus.engine.compress.Projection;

/** Per-row additions to a block linear's output (each row's adapter); the forward calls it for every projection. */
@FunctionalInterface
public interface RowAdapters {
    /** x [B, L, in] the layer input, base [B, L, out] = Ŵx; returns the adapted output. */
    NDArray apply(int layer, Projection projection, NDArray x, NDArray base);
}
