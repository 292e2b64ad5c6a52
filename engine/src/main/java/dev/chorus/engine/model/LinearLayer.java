package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;

/** y = W x for a weight W of shape [out, in], however W is stored (dense, group-quantized or binary-coded). */
public interface LinearLayer extends AutoCloseable {
    /** x [..., in] -> [..., out], attached to x's manager. */
    NDArray apply(NDArray x);

    int inFeatures();

    int outFeatures();

    /** The same product on the host for the host decode path, or null when this layer has none. */
    default HostLinear onHost() {
        return null;
    }

    /** Bytes this layer keeps resident on the device. */
    long bytesResident();

    @Override
    void close();
}
