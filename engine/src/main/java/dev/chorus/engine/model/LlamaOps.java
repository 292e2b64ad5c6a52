package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;

/** Llama building blocks shared by the inference forward and the training forward. */
public final class LlamaOps {
    private LlamaOps() {
    }

    /** RoPE tables {cos, sin}, each [positions, headDim/2]: angle(p, j) = p · theta^(−2j/headDim). */
    public static float[][] ropeTables(ModelConfig c, int positions) {
        int half = c.headDim() / 2;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int j = 0; j < half; j++) {
                double angle = p * Math.pow(c.ropeTheta(), -2.0 * j / c.headDim());
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    /** x · 1/sqrt(mean(x²) + eps) · w over the last axis. */
    public static NDArray rmsNorm(NDArray x, NDArray weight, float eps) {
        return x.div(x.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(weight);
    }

    /**
     * Rotates x [..., heads, headDim] by position; cos/sin broadcast against [..., heads, headDim/2]
     * (one angle per position and pair). HALF_SPLIT pairs (j, j + headDim/2), INTERLEAVED (2j, 2j+1).
     */
    public static NDArray rope(NDArray x, NDArray cos, NDArray sin, RopeStyle style) {
        Shape shape = x.getShape();
        long half = shape.get(shape.dimension() - 1) / 2;
        if (style == RopeStyle.HALF_SPLIT) {
            NDArray x1 = x.get("..., :" + half);
            NDArray x2 = x.get("..., " + half + ":");
            return NDArrays.concat(new NDList(x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))), -1);
        }
        NDArray pairs = x.reshape(shape.slice(0, shape.dimension() - 1).add(half, 2));
        NDArray x1 = pairs.get("..., 0");
        NDArray x2 = pairs.get("..., 1");
        return NDArrays.stack(new NDList(x1.mul(cos).sub(x2.mul(sin)), x1.mul(sin).add(x2.mul(cos))), -1).reshape(shape);
    }
}
