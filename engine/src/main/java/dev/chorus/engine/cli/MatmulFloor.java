package dev.chorus.engine.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.model.DecodePath;
import dev.chorus.engine.model.HostCopies;
import dev.chorus.engine.model.HostLinear;
import dev.chorus.engine.model.KernelThreads;
import java.util.ArrayList;
import java.util.List;

/**
 * The matrix products a decode step cannot avoid, run back to back through the same backend: per
 * block x·[Wq;Wk;Wv]ᵀ, o·Woᵀ, x·[Wgate;Wup]ᵀ and s·Wdownᵀ (the projections reading one input as one
 * product, the fewest dispatches that arithmetic allows), then the classifier, all fp32 at the
 * step's batch. Distinct weights per block, so the bytes read per step match the model's.
 * {@code ms_per_step / floor} is the share of a step spent on anything else.
 */
final class MatmulFloor implements AutoCloseable {
    private final NDManager manager;
    private final List<NDArray> weights = new ArrayList<>(); // per product [out, in], in forward order
    private final NDArray hidden; // [B, 1, dim]
    private final NDArray wide; // [B, 1, intermediate]
    private final KernelThreads threads; // the host kernels' workers
    private final List<HostLinear> hostWeights = new ArrayList<>(); // the same products for the host kernel (fp32 or bf16 copies)
    private final int batch;

    /**
     * {@code path}: which host products to time besides the backend's (fp32 copies for HOST, bf16 for
     * HOST_BF16, none for BACKEND).
     */
    MatmulFloor(ModelConfig c, int batch, NDManager parent, DecodePath path) {
        manager = parent.newSubManager();
        threads = KernelThreads.like(manager);
        this.batch = batch;
        int dim = c.hiddenSize();
        int ff = c.intermediateSize();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            weights.add(random(dim + 2 * c.kvDim(), dim));
            weights.add(random(dim, dim));
            weights.add(random(2 * ff, dim));
            weights.add(random(dim, ff));
        }
        weights.add(random(c.vocabSize(), dim));
        HostCopies copies = new HostCopies(threads, path == DecodePath.HOST_BF16);
        for (NDArray w : path == DecodePath.BACKEND ? List.<NDArray>of() : weights) {
            hostWeights.add(copies.of(w.toFloatArray(), (int) w.getShape().get(0), (int) w.getShape().get(1)));
        }
        hidden = manager.randomUniform(-1f, 1f, new Shape(batch, 1, dim));
        wide = manager.randomUniform(-1f, 1f, new Shape(batch, 1, ff));
    }

    /** The floor of the path the model decodes on: the host kernel's products or the backend's. */
    double msPerStep(int steps, boolean host) {
        return host ? hostMsPerStep(steps) : msPerStep(steps);
    }

    /** As {@link #msPerStep(int)}, through the host kernel (the host decode path's products). */
    private double hostMsPerStep(int steps) {
        float[] h = hidden.toFloatArray();
        float[] s = wide.toFloatArray();
        long t0 = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            for (HostLinear w : hostWeights) {
                w.multiply(w.inFeatures() == h.length / batch ? h : s, batch, new float[batch * w.outFeatures()]);
            }
        }
        return (System.nanoTime() - t0) / 1e6 / steps;
    }

    private NDArray random(int out, int in) {
        float bound = (float) (1 / Math.sqrt(in));
        return manager.randomUniform(-bound, bound, new Shape(out, in));
    }

    /** Mean milliseconds of one step's products over {@code steps} repetitions (the results are read back, as logits are). */
    double msPerStep(int steps) {
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            try (NDManager step = manager.newSubManager()) {
                NDArray last = null;
                for (NDArray w : weights) {
                    NDArray x = w.getShape().get(1) == hidden.getShape().get(2) ? hidden : wide;
                    last = Linear.linear(x, w).singletonOrThrow();
                    last.attach(step);
                }
                last.toFloatArray();
            }
        }
        return (System.nanoTime() - t0) / 1e6 / steps;
    }

    @Override
    public void close() {
        threads.close();
        manager.close();
    }
}
