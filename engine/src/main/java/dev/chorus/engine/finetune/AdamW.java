package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * AdamW (Loshchilov & Hutter): bias-corrected moments, weight decay decoupled from the gradient,
 * the learning rate warmed up linearly then decayed (cosine or linear) to zero, and the gradient
 * clipped to a global L2 norm before every update.
 */
final class AdamW {
    static final double BETA1 = 0.9;
    static final double BETA2 = 0.999;
    static final double EPSILON = 1e-8;

    private final List<NDArray> parameters;
    private final List<NDArray> firstMoments = new ArrayList<>();
    private final List<NDArray> secondMoments = new ArrayList<>();
    private final List<Boolean> decayed = new ArrayList<>();
    private final double learningRate;
    private final double weightDecay;
    private final int warmup;
    private final int total;
    private final Optimization.Decay schedule;
    private final double maxGradNorm;

    AdamW(List<NDArray> parameters, Predicate<NDArray> decay, double learningRate, double weightDecay, int warmup, int total,
            Optimization.Decay schedule, double maxGradNorm) {
        this.parameters = List.copyOf(parameters);
        for (NDArray p : parameters) {
            firstMoments.add(p.zerosLike());
            secondMoments.add(p.zerosLike());
            decayed.add(decay.test(p));
        }
        this.learningRate = learningRate;
        this.weightDecay = weightDecay;
        this.warmup = warmup;
        this.total = total;
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
    }

    /** The learning rate of step {@code step} (1-based). */
    double learningRate(int step) {
        if (step <= warmup) {
            return learningRate * step / Math.max(1, warmup);
        }
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return schedule == Optimization.Decay.COSINE ? learningRate * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)))
                : learningRate * Math.max(0, 1 - progress);
    }

    /**
     * Applies one update from the accumulated gradients, then zeroes them; returns the gradient norm
     * before clipping. A non-finite gradient skips the update (weights stay finite) and is reported
     * through the returned norm.
     */
    double step(int step) {
        // Every array made here (gradient handles, moments' intermediates) is freed with the scope;
        // only the in-place updates of parameters and moments outlive it.
        try (NDScope scope = new NDScope()) {
            List<NDArray> gradients = parameters.stream().map(NDArray::getGradient).toList();
            double squares = 0;
            for (NDArray g : gradients) {
                squares += g.square().sum().toType(DataType.FLOAT64, false).getDouble();
            }
            double norm = Math.sqrt(squares);
            if (!Double.isFinite(norm)) {
                gradients.forEach(g -> g.set(new NDIndex("..."), 0)); // NaN · 0 is NaN: overwrite
                return norm;
            }
            double clip = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / (norm + 1e-6) : 1.0;
            double lr = learningRate(step);
            double correction1 = 1 - Math.pow(BETA1, step);
            double correction2 = 1 - Math.pow(BETA2, step);
            for (int i = 0; i < parameters.size(); i++) {
                // The update goes into the parameter's storage through a detached handle: a thread whose
                // grad mode was never switched off (PyTorch's default on a new thread; DJL switches it off
                // only on the thread that starts the engine) would refuse an in-place op on a leaf.
                NDArray p = parameters.get(i).stopGradient();
                NDArray g = gradients.get(i).mul(clip);
                NDArray m = firstMoments.get(i).muli(BETA1).addi(g.mul(1 - BETA1));
                NDArray v = secondMoments.get(i).muli(BETA2).addi(g.square().mul(1 - BETA2));
                NDArray update = m.div(correction1).div(v.div(correction2).sqrt().add(EPSILON));
                if (decayed.get(i) && weightDecay > 0) {
                    update = update.add(p.mul(weightDecay));
                }
                p.subi(update.mul(lr));
                gradients.get(i).muli(0); // DJL accumulates gradients across backward passes
            }
            return norm;
        }
    }
}
