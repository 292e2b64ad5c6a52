package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import dev.chorus.engine.model.LlamaOps;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The frozen base as a training forward over padded sequences: logits = head(norm(blocks(embed(t)))),
 * with every block linear going through the trainable adapter. Right padding needs no extra mask:
 * under the causal mask a real token never attends to the padding after it, and padded targets
 * carry no loss.
 */
final class CausalLm implements AutoCloseable {
    private final ModelConfig config;
    private final NDManager manager;
    private final BlockTrainer block;
    private final NDArray embedding; // [vocab, dim]
    private final NDArray finalNorm; // [dim]
    private final NDArray classifier; // [vocab, dim]
    private final List<NDArray[]> norms = new ArrayList<>(); // per layer: attention [dim], ffn [dim]
    private final List<Map<Projection, NDArray>> weights = new ArrayList<>(); // per layer: [out, in]
    private final DataType dtype;

    CausalLm(DenseParameters p, int seqLen, NDManager parent, DataType dtype) {
        this.config = p.config();
        this.dtype = dtype;
        this.manager = parent.newSubManager();
        ModelConfig c = config;
        this.block = new BlockTrainer(c, seqLen, manager, dtype);
        this.embedding = create(p.tokenEmbedding(), new Shape(c.vocabSize(), c.hiddenSize()));
        this.finalNorm = create(p.finalNorm(), new Shape(c.hiddenSize()));
        this.classifier = p.classifier() == p.tokenEmbedding() ? embedding : create(p.classifier(), new Shape(c.vocabSize(), c.hiddenSize()));
        for (DenseParameters.Layer layer : p.layers()) {
            norms.add(new NDArray[] {create(layer.attentionNorm(), new Shape(c.hiddenSize())), create(layer.ffnNorm(), new Shape(c.hiddenSize()))});
            Map<Projection, NDArray> w = new EnumMap<>(Projection.class);
            for (Projection proj : Projection.values()) {
                w.put(proj, create(proj.of(layer), new Shape(proj.outFeatures(c), proj.inFeatures(c))));
            }
            weights.add(w);
        }
    }

    private NDArray create(float[] data, Shape shape) {
        return manager.create(data, shape).toType(dtype, false);
    }

    /** tokens [N, T] (int64) → logits [N, T, vocab]; intermediate arrays live in {@code step}. */
    NDArray logits(NDArray tokens, TrainableAdapter adapter, NDManager step) {
        long n = tokens.getShape().get(0);
        long t = tokens.getShape().get(1);
        NDArray x = embedding.get(step, new NDIndex("{}", tokens.reshape(n * t))).reshape(n, t, config.hiddenSize());
        for (int layer = 0; layer < weights.size(); layer++) {
            int l = layer;
            Map<Projection, NDArray> w = weights.get(layer);
            x = block.forward(x, norms.get(layer)[0], norms.get(layer)[1], (p, in) -> adapter.apply(l, p, in, w.get(p)));
        }
        return BlockTrainer.linear(LlamaOps.rmsNorm(x, finalNorm, config.rmsNormEps()), classifier);
    }

    /** Summed negative log-likelihood of {@code targets} [N, T] where {@code mask} [N, T] is 1. */
    static NDArray nllSum(NDArray logits, NDArray targets, NDArray mask) {
        NDArray logp = logits.logSoftmax(-1);
        NDArray picked = logp.gather(targets.expandDims(-1), -1).squeeze(-1);
        return picked.mul(mask).sum().neg();
    }

    /** Per row of [N, T]: the summed log-probability of {@code targets} where {@code mask} is 1 → [N]. */
    static NDArray sequenceLogProbs(NDArray logits, NDArray targets, NDArray mask) {
        NDArray logp = logits.logSoftmax(-1);
        return logp.gather(targets.expandDims(-1), -1).squeeze(-1).mul(mask).sum(new int[] {1});
    }

    DataType dtype() {
        return dtype;
    }

    @Override
    public void close() {
        manager.close();
    }
}
