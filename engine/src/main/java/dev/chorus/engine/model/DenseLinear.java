package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

/** A float32 weight kept as it is. */
public final class DenseLinear implements LinearLayer {
    private final NDArray weight; // [out, in]

    public DenseLinear(NDManager manager, float[] data, int out, int in) {
        this(manager.create(data, new Shape(out, in)));
    }

    /** Wraps an existing [out, in] array, e.g. the token embedding shared by a tied classifier. */
    public DenseLinear(NDArray weight) {
        this.weight = weight;
    }

    @Override
    public NDArray apply(NDArray x) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    NDArray weight() {
        return weight;
    }

    @Override
    public int inFeatures() {
        return (int) weight.getShape().get(1);
    }

    @Override
    public int outFeatures() {
        return (int) weight.getShape().get(0);
    }

    @Override
    public long bytesResident() {
        return weight.getShape().size() * Float.BYTES;
    }

    @Override
    public void close() {
        weight.close();
    }
}
