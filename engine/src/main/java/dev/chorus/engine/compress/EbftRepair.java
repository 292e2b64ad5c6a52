package dev.chorus.engine.compress;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * EBFT repair of one pruned block: minimise MSE(sparseBlock(X), denseBlock(X)) over the block's
 * inputs X from the sparse model's own activation stream, training only the kept weights of the
 * seven linears with AdamW (bias-corrected); the mask is re-applied after every step, so pruned
 * weights stay exactly 0.
 */
public final class EbftRepair {
    public record Settings(int epochs, int batchSize, float learningRate, long seed) {
        public static final Settings DEFAULTS = new Settings(8, 8, 2e-4f, 1234);

        public Settings {
            if (epochs < 1 || batchSize < 1 || !(learningRate > 0)) {
                throw new IllegalArgumentException("EBFT needs epochs and batch size >= 1 and a learning rate > 0");
            }
        }

        public Settings withEpochs(int epochs) {
            return new Settings(epochs, batchSize, learningRate, seed);
        }

        public Settings withSeed(long seed) {
            return new Settings(epochs, batchSize, learningRate, seed);
        }
    }

    public record Result(DenseParameters.Layer repaired, double mseBefore, double mseAfter) {
    }

    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    private EbftRepair() {
    }

    public static Result repair(ModelConfig c, DenseParameters.Layer dense, DenseParameters.Layer sparse, Map<Projection, SparsityMask> masks,
            List<float[]> inputs, int seqLen, Settings settings, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            SparseBlock block = new SparseBlock(c, seqLen, dense, sparse, masks, m);
            NDArray x = m.create(concat(inputs), new Shape(inputs.size(), seqLen, c.hiddenSize()));
            NDArray target = block.trainer.forward(x, block.attentionNorm, block.ffnNorm, block.denseWeights); // the dense block, once
            double before = mse(block, x, target);
            fit(block, x, target, settings);
            double after = mse(block, x, target);
            DenseParameters.Layer repaired = sparse;
            for (Projection p : Projection.values()) {
                float[] w = block.weights.get(p).toFloatArray();
                masks.get(p).apply(w); // exact zeros where pruned, whatever float noise the optimizer left
                repaired = p.with(repaired, w);
            }
            return new Result(repaired, before, after);
        }
    }

    /** The block's trainable kept weights beside its frozen dense twin, with AdamW's moments. */
    private static final class SparseBlock {
        final BlockTrainer trainer;
        final NDArray attentionNorm;
        final NDArray ffnNorm;
        final Map<Projection, NDArray> denseWeights = new EnumMap<>(Projection.class);
        final Map<Projection, NDArray> weights = new EnumMap<>(Projection.class);
        final Map<Projection, NDArray> keep = new EnumMap<>(Projection.class);
        final Map<Projection, NDArray> firstMoment = new EnumMap<>(Projection.class);
        final Map<Projection, NDArray> secondMoment = new EnumMap<>(Projection.class);

        SparseBlock(ModelConfig c, int seqLen, DenseParameters.Layer dense, DenseParameters.Layer sparse, Map<Projection, SparsityMask> masks,
                NDManager m) {
            trainer = new BlockTrainer(c, seqLen, m);
            attentionNorm = m.create(dense.attentionNorm());
            ffnNorm = m.create(dense.ffnNorm());
            for (Projection p : Projection.values()) {
                Shape shape = new Shape(p.outFeatures(c), p.inFeatures(c));
                denseWeights.put(p, m.create(p.of(dense), shape));
                NDArray w = m.create(p.of(sparse), shape);
                w.setRequiresGradient(true);
                weights.put(p, w);
                keep.put(p, m.create(masks.get(p).keepWeights(), shape));
                firstMoment.put(p, m.zeros(shape));
                secondMoment.put(p, m.zeros(shape));
            }
        }

        NDArray forward(NDArray x) {
            return trainer.forward(x, attentionNorm, ffnNorm, weights);
        }
    }

    /** Epochs of shuffled mini-batches (seeded), one masked AdamW step per batch. */
    private static void fit(SparseBlock block, NDArray x, NDArray target, Settings settings) {
        NDManager m = x.getManager();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < x.getShape().get(0); i++) {
            order.add(i);
        }
        Random random = new Random(settings.seed());
        int step = 0;
        for (int epoch = 0; epoch < settings.epochs(); epoch++) {
            Collections.shuffle(order, random);
            for (int from = 0; from < order.size(); from += settings.batchSize()) {
                List<Integer> batch = order.subList(from, Math.min(order.size(), from + settings.batchSize()));
                step++;
                try (NDManager s = m.newSubManager()) {
                    NDArray index = s.create(batch.stream().mapToLong(Integer::longValue).toArray());
                    NDArray xb = x.get(s, new ai.djl.ndarray.index.NDIndex("{}", index));
                    NDArray yb = target.get(s, new ai.djl.ndarray.index.NDIndex("{}", index));
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        collector.backward(block.forward(xb).sub(yb).square().mean());
                    }
                    for (Projection p : Projection.values()) {
                        adamWStep(block.weights.get(p), block.keep.get(p), block.firstMoment.get(p), block.secondMoment.get(p),
                                settings.learningRate(), step, s);
                    }
                }
            }
        }
    }

    /** w ← (w − lr·(m̂/(√v̂ + ε))) ⊙ keep, with the gradient masked too. */
    private static void adamWStep(NDArray w, NDArray keep, NDArray m, NDArray v, float lr, int step, NDManager s) {
        NDArray grad = w.getGradient();
        grad.attach(s);
        NDArray g = grad.mul(keep);
        m.muli(BETA1).addi(g.mul(1 - BETA1));
        v.muli(BETA2).addi(g.square().mul(1 - BETA2));
        NDArray mHat = m.div(1 - Math.pow(BETA1, step));
        NDArray vHat = v.div(1 - Math.pow(BETA2, step));
        w.subi(mHat.div(vHat.sqrt().add(EPSILON)).mul(lr));
        w.muli(keep);
        grad.muli(0); // gradients accumulate across backward calls
    }

    private static double mse(SparseBlock block, NDArray x, NDArray target) {
        try (NDManager s = x.getManager().newSubManager()) {
            NDArray xs = x.duplicate();
            xs.attach(s);
            return block.forward(xs).sub(target).square().mean().getFloat();
        }
    }

    private static float[] concat(List<float[]> parts) {
        int total = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[total];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
