package dev.chorus.engine.compress;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import dev.chorus.engine.model.ModelConfig;
import dev.chorus.engine.model.LlamaOps;
import java.util.Map;

/**
 * One Llama block over whole sequences [N, T, dim] with a causal mask and no KV cache, written for
 * training: the weights come in as arrays the caller may record gradients for. Same function as the
 * inference forward (checked by tests against the plain reference).
 */
public final class BlockTrainer {
    private final ModelConfig c;
    private final NDArray ropeCos; // [T, 1, headDim/2]
    private final NDArray ropeSin; // [T, 1, headDim/2]
    private final NDArray causalMask; // [T, T], 0 on and below the diagonal, −∞ above

    public BlockTrainer(ModelConfig config, int seqLen, NDManager manager) {
        this.c = config;
        int half = config.headDim() / 2;
        float[][] tables = LlamaOps.ropeTables(config, seqLen);
        ropeCos = manager.create(tables[0], new Shape(seqLen, 1, half));
        ropeSin = manager.create(tables[1], new Shape(seqLen, 1, half));
        float[] mask = new float[seqLen * seqLen];
        for (int i = 0; i < seqLen; i++) {
            for (int j = i + 1; j < seqLen; j++) {
                mask[i * seqLen + j] = Float.NEGATIVE_INFINITY;
            }
        }
        causalMask = manager.create(mask, new Shape(seqLen, seqLen));
    }

    /** x [N, T, dim] → block output [N, T, dim]; {@code w} holds the seven [out, in] weights. */
    public NDArray forward(NDArray x, NDArray attentionNorm, NDArray ffnNorm, Map<Projection, NDArray> w) {
        long n = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = c.headDim();
        NDArray h = rmsNorm(x, attentionNorm);
        NDArray q = rope(linear(h, w.get(Projection.Q)).reshape(n, t, c.numHeads(), hd)).transpose(0, 2, 1, 3);
        NDArray k = rope(linear(h, w.get(Projection.K)).reshape(n, t, c.numKvHeads(), hd)).transpose(0, 2, 1, 3);
        NDArray v = linear(h, w.get(Projection.V)).reshape(n, t, c.numKvHeads(), hd).transpose(0, 2, 1, 3);
        if (c.groupSize() > 1) { // query head i reads kv head i / group
            k = k.repeat(1, c.groupSize());
            v = v.repeat(1, c.groupSize());
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(hd)).add(causalMask); // [N, H, T, T]
        NDArray attention = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(n, t, c.hiddenSize());
        NDArray x2 = x.add(linear(attention, w.get(Projection.O)));
        NDArray h2 = rmsNorm(x2, ffnNorm);
        NDArray gate = linear(h2, w.get(Projection.GATE));
        NDArray swiGlu = gate.mul(Activation.sigmoid(gate)).mul(linear(h2, w.get(Projection.UP)));
        return x2.add(linear(swiGlu, w.get(Projection.DOWN)));
    }

    private static NDArray linear(NDArray x, NDArray weight) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        return LlamaOps.rmsNorm(x, weight, c.rmsNormEps());
    }

    /** x [N, T, heads, headDim] rotated by position. */
    private NDArray rope(NDArray x) {
        return LlamaOps.rope(x, ropeCos, ropeSin, c.ropeStyle());
    }
}
