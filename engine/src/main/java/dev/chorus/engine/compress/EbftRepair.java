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
        int dim = c.hiddenSize();
        try (NDManager m = parent.newSubManager()) {
            BlockTrainer block = new BlockTrainer(c, seqLen, m);
            NDArray attentionNorm = m.create(dense.attentionNorm());
            NDArray ffnNorm = m.create(dense.ffnNorm());
            Map<Projection, NDArray> denseW = new EnumMap<>(Projection.class);
            Map<Projection, NDArray> weights = new EnumMap<>(Projection.class);
            Map<Projection, NDArray> keep = new EnumMap<>(Projection.class);
            Map<Projection, NDArray> firstMoment = new EnumMap<>(Projection.class);
            Map<Projection, NDArray> secondMoment = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                Shape shape = new Shape(p.outFeatures(c), p.inFeatures(c));
                denseW.put(p, m.create(p.of(dense), shape));
                NDArray w = m.create(p.of(sparse), shape);
                w.setRequiresGradient(true);
                weights.put(p, w);
                keep.put(p, m.create(masks.get(p).keepWeights(), shape));
                firstMoment.put(p, m.zeros(shape));
                secondMoment.put(p, m.zeros(shape));
            }
            NDArray x = m.create(concat(inputs), new Shape(inputs.size(), seqLen, dim));
            NDArray target = block.forward(x, attentionNorm, ffnNorm, denseW); // computed once: the dense block on the same inputs
            double before = mse(block, x, target, attentionNorm, ffnNorm, weights);

            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
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
                            NDArray out = block.forward(xb, attentionNorm, ffnNorm, weights);
                            collector.backward(out.sub(yb).square().mean());
                        }
                        for (Projection p : Projection.values()) {
                            adamWStep(weights.get(p), keep.get(p), firstMoment.get(p), secondMoment.get(p), settings.learningRate(), step, s);
                        }
                    }
                }
            }
            double after = mse(block, x, target, attentionNorm, ffnNorm, weights);
            DenseParameters.Layer repaired = sparse;
            for (Projection p : Projection.values()) {
                float[] w = weights.get(p).toFloatArray();
                masks.get(p).apply(w); // exact zeros where pruned, whatever float noise the optimizer left
                repaired = p.with(repaired, w);
            }
            return new Result(repaired, before, after);
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

    private static double mse(BlockTrainer block, NDArray x, NDArray target, NDArray attentionNorm, NDArray ffnNorm,
            Map<Projection, NDArray> weights) {
        try (NDManager s = x.getManager().newSubManager()) {
            NDArray xs = x.duplicate();
            xs.attach(s);
            return block.forward(xs, attentionNorm, ffnNorm, weights).sub(target).square().mean().getFloat();
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
