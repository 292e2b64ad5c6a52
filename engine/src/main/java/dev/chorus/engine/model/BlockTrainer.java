package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.Map;

/**
 * One Llama block over whole sequences [N, T ≤ seqLen, dim] with a causal mask and no KV cache,
 * written for training: the weights come in as arrays the caller may record gradients for. Same function as the
 * inference forward (checked by tests against the plain reference).
 */
public final class BlockTrainer {
    private final ModelConfig c;
    private final NDArray ropeCos; // [T, 1, headDim/2]
    private final NDArray ropeSin; // [T, 1, headDim/2]
    private final NDArray causalMask; // [T, T], 0 on and below the diagonal, −∞ above

    /** The seven linears of a block as functions, so callers can add adapters: x [.., in] → [.., out]. */
    public interface Linears {
        NDArray apply(Projection p, NDArray x);
    }

    public BlockTrainer(ModelConfig config, int seqLen, NDManager manager) {
        this(config, seqLen, manager, DataType.FLOAT32);
    }

    /** {@code dtype}: FLOAT64 for gradient checks, FLOAT32 otherwise. */
    public BlockTrainer(ModelConfig config, int seqLen, NDManager manager, DataType dtype) {
        this.c = config;
        int half = config.headDim() / 2;
        float[][] tables = LlamaOps.ropeTables(config, seqLen);
        ropeCos = manager.create(tables[0], new Shape(seqLen, 1, half)).toType(dtype, false);
        ropeSin = manager.create(tables[1], new Shape(seqLen, 1, half)).toType(dtype, false);
        float[] mask = new float[seqLen * seqLen];
        for (int i = 0; i < seqLen; i++) {
            for (int j = i + 1; j < seqLen; j++) {
                mask[i * seqLen + j] = Float.NEGATIVE_INFINITY;
            }
        }
        causalMask = manager.create(mask, new Shape(seqLen, seqLen)).toType(dtype, false);
    }

    /** x [N, T, dim] → block output [N, T, dim]; {@code w} holds the seven [out, in] weights. */
    public NDArray forward(NDArray x, NDArray attentionNorm, NDArray ffnNorm, Map<Projection, NDArray> w) {
        return forward(x, attentionNorm, ffnNorm, (p, in) -> linear(in, w.get(p)));
    }

    /** x [N, T, dim] → block output [N, T, dim], with the linears given as functions. */
    public NDArray forward(NDArray x, NDArray attentionNorm, NDArray ffnNorm, Linears w) {
        long n = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = c.headDim();
        NDArray h = rmsNorm(x, attentionNorm);
        NDArray q = rope(w.apply(Projection.Q, h).reshape(n, t, c.numHeads(), hd)).transpose(0, 2, 1, 3);
        NDArray k = rope(w.apply(Projection.K, h).reshape(n, t, c.numKvHeads(), hd)).transpose(0, 2, 1, 3);
        NDArray v = w.apply(Projection.V, h).reshape(n, t, c.numKvHeads(), hd).transpose(0, 2, 1, 3);
        if (c.groupSize() > 1) { // query head i reads kv head i / group
            k = k.repeat(1, c.groupSize());
            v = v.repeat(1, c.groupSize());
        }
        NDArray mask = t == causalMask.getShape().get(0) ? causalMask : causalMask.get(x.getManager(), new NDIndex("0:" + t + ", 0:" + t)); // in the step's manager
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(hd)).add(mask); // [N, H, T, T]
        NDArray attention = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(n, t, c.hiddenSize());
        NDArray x2 = x.add(w.apply(Projection.O, attention));
        NDArray h2 = rmsNorm(x2, ffnNorm);
        NDArray gate = w.apply(Projection.GATE, h2);
        NDArray swiGlu = gate.mul(Activation.sigmoid(gate)).mul(w.apply(Projection.UP, h2));
        return x2.add(w.apply(Projection.DOWN, swiGlu));
    }

    /** y = x·Wᵀ for W [out, in]. */
    public static NDArray linear(NDArray x, NDArray weight) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        return LlamaOps.rmsNorm(x, weight, c.rmsNormEps());
    }

    /** x [N, T, heads, headDim] rotated by position; sequences may be shorter than the tables. */
    private NDArray rope(NDArray x) {
        long t = x.getShape().get(1);
        if (t == ropeCos.getShape().get(0)) {
            return LlamaOps.rope(x, ropeCos, ropeSin, c.ropeStyle());
        }
        NDIndex first = new NDIndex("0:" + t);
        return LlamaOps.rope(x, ropeCos.get(x.getManager(), first), ropeSin.get(x.getManager(), first), c.ropeStyle());
    }
}
