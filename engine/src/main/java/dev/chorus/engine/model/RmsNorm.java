package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;

/**
 * RMSNorm x · w / sqrt(mean(x²) + eps) over the last axis in four backend ops instead of six: the
 * layer norm of [x, −x] sees mean exactly 0 and variance mean(x²), so the first half of
 * layerNorm([x, −x]; γ = [w, w]) is RMSNorm(x). (The backend has layer norm but no RMS norm.)
 */
public final class RmsNorm {
    private final NDArray weight; // [dim], as stored
    private final float[] hostWeight; // [dim], the same for the host decode path
    private final NDArray gamma; // [2·dim]: w, w
    private final NDArray beta; // [2·dim]: zeros
    private final Shape normalized; // (2·dim)
    private final NDIndex firstHalf; // ..., :dim
    private final float eps;

    RmsNorm(NDManager m, float[] weight, float eps) {
        int dim = weight.length;
        this.weight = m.create(weight);
        this.hostWeight = weight.clone();
        float[] twice = new float[2 * dim];
        System.arraycopy(weight, 0, twice, 0, dim);
        System.arraycopy(weight, 0, twice, dim, dim);
        gamma = m.create(twice);
        beta = m.zeros(new Shape(2L * dim));
        normalized = new Shape(2L * dim);
        firstHalf = new NDIndex().addEllipseDim().addSliceDim(0, dim);
        this.eps = eps;
    }

    /** x [..., dim] → RMSNorm(x) [..., dim], in x's manager. */
    NDArray apply(NDArray x) {
        NDArray mirrored = NDArrays.concat(new NDList(x, x.neg()), -1); // [..., 2·dim]
        return LayerNorm.layerNorm(mirrored, normalized, gamma, beta, eps).singletonOrThrow().get(firstHalf);
    }

    /** The stored weight w [dim]. */
    NDArray weight() {
        return weight;
    }

    float[] hostWeight() {
        return hostWeight;
    }

    long bytesResident() {
        return (weight.size() + gamma.size() + beta.size()) * Float.BYTES;
    }
}
