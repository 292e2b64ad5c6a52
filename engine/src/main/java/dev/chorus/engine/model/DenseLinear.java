package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

/** A float32 weight kept as it is, on the device and, for the host decode path, optionally also in a Java array. */
public final class DenseLinear implements LinearLayer {
    private final NDArray weight; // [out, in]
    private final HostLinear host; // the same [out, in] on the host; null without host decoding

    public DenseLinear(NDManager manager, float[] data, int out, int in) {
        this(manager, data, out, in, null);
    }

    /** {@code copies} non-null: {@code data} is also kept on the host for the host decode path. */
    DenseLinear(NDManager manager, float[] data, int out, int in, HostCopies copies) {
        this(manager.create(data, new Shape(out, in)), copies == null ? null : copies.of(data, out, in));
    }

    /** Wraps an existing [out, in] array, e.g. the token embedding shared by a tied classifier. */
    public DenseLinear(NDArray weight) {
        this(weight, null);
    }

    DenseLinear(NDArray weight, HostLinear host) {
        this.weight = weight;
        this.host = host;
    }

    @Override
    public HostLinear onHost() {
        return host;
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
        return weight.getShape().size() * Float.BYTES + (host == null ? 0 : host.bytes()); // and the host decode path's copy
    }

    @Override
    public void close() {
        weight.close();
    }
}
