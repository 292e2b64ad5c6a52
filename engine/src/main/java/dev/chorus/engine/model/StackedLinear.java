package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;

/**
 * Linears reading the same input whose weights cannot be concatenated (compressed storage), as one
 * layer: y = [W₁x, W₂x, ...] along the last axis. Dense weights are concatenated at load instead.
 */
final class StackedLinear implements LinearLayer {
    private final List<LinearLayer> parts;
    private final int out;

    StackedLinear(List<LinearLayer> parts) {
        this.parts = List.copyOf(parts);
        this.out = parts.stream().mapToInt(LinearLayer::outFeatures).sum();
    }

    @Override
    public NDArray apply(NDArray x) {
        NDList outputs = new NDList(parts.size());
        for (LinearLayer p : parts) {
            outputs.add(p.apply(x));
        }
        return NDArrays.concat(outputs, -1);
    }

    @Override
    public int inFeatures() {
        return parts.get(0).inFeatures();
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public long bytesResident() {
        return parts.stream().mapToLong(LinearLayer::bytesResident).sum();
    }

    @Override
    public void close() {
        parts.forEach(LinearLayer::close);
    }
}
