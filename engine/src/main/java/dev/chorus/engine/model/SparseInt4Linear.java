package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.SparseInt4Matrix;

/**
 * A sparse INT4 weight multiplied on the CPU by its own kernel ({@link SparseInt4Matrix}) straight
 * from the kept codes and mask: the input leaves the backend, the product comes back.
 */
final class SparseInt4Linear implements LinearLayer {
    private final SparseInt4Matrix weight; // [out, in]

    SparseInt4Linear(SparseInt4Matrix weight) {
        this.weight = weight;
    }

    @Override
    public NDArray apply(NDArray x) {
        Shape shape = x.getShape();
        int batch = Math.toIntExact(shape.size() / weight.cols());
        float[] y = new float[batch * weight.rows()];
        weight.multiply(x.toFloatArray(), batch, y);
        return x.getManager().create(y, shape.slice(0, shape.dimension() - 1).add(weight.rows()));
    }

    @Override
    public int inFeatures() {
        return weight.cols();
    }

    @Override
    public int outFeatures() {
        return weight.rows();
    }

    @Override
    public long bytesResident() {
        return weight.residentBytes();
    }

    @Override
    public void close() {
        // plain Java arrays: nothing held by the backend
    }
}
