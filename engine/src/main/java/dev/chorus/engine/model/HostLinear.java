package dev.chorus.engine.model;

/** y = x·Wᵀ on the host, for the host decode path ({@link HostDecoder}): Java arrays in and out. */
public interface HostLinear {
    /** y [rows, out] = x [rows, in] · Wᵀ; y is overwritten. */
    void multiply(float[] x, int rows, float[] y);

    int inFeatures();

    int outFeatures();

    /** Bytes of the weight this host form holds. */
    long bytes();
}
