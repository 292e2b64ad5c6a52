package dev.chorus.engine.adapter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * SQFT QA-SparsePEFT: y = fq(Wᵖ + s·(BA ⊙ M))x, fake-quantized on the base's own scales and zero
 * points with a straight-through gradient. Served merged only: requantized with the same s, z, a
 * sparse INT model whose codes alone change.
 */
public record QaSparsePeft(int rank, float alpha, float scaling) implements FullInputLowRank {
    public QaSparsePeft {
        if (rank < 1) {
            throw new AdapterFormatException("rank must be >= 1 for qa-sparse-peft");
        }
    }

    @Override
    public AdapterType type() {
        return AdapterType.QA_SPARSE_PEFT;
    }

    @Override
    public void layInto(SlotContents slot, Adapter a) {
        throw new MergedOnlyException(type());
    }

    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        NDArray keep = SparsePeft.keep(m, frozen, type(), manager, dtype);
        QuantizedMatrix q = frozen.get().quantized().get(m);
        if (q == null) {
            throw new IllegalArgumentException("qa-sparse-peft needs a quantized base; " + m + " is not quantized");
        }
        Shape shape = new Shape(q.rows(), q.cols());
        NDArray quantScale = manager.create(FrozenLinears.perColumn(q, false), shape).toType(dtype, false);
        NDArray quantZero = manager.create(FrozenLinears.perColumn(q, true), shape).toType(dtype, false);
        int in = m.projection().inFeatures(c);
        NDArray[] ab = LowRankPairs.trainable(start, rank, in, in, m.projection().outFeatures(c), manager, dtype, rnd);
        return new FakeQuantized(ab, scaling, keep, quantScale, quantZero, q.spec().maxCode());
    }

    /**
     * fq(W') on the base's own grid, q = clip(round(W'/s_q + z), 0, max), fq = (q − z)·s_q, with a
     * straight-through gradient (forward fq(W'), backward as if W').
     */
    static final class FakeQuantized extends SparsePeft.MaskedDelta {
        private final NDArray quantScale; // [out, in]: the base's group scales per column
        private final NDArray quantZero; // [out, in]: the base's zero points per column
        private final int maxCode;

        FakeQuantized(NDArray[] ab, float scaling, NDArray keep, NDArray quantScale, NDArray quantZero, int maxCode) {
            super(ab, scaling, keep);
            this.quantScale = quantScale;
            this.quantZero = quantZero;
            this.maxCode = maxCode;
        }

        @Override
        NDArray effectiveWeight(NDArray w) {
            NDArray merged = merged(w);
            NDArray quantized = codes(merged).sub(quantZero).mul(quantScale);
            return merged.add(quantized.sub(merged).stopGradient());
        }

        /** The integer codes of W' on the base's grid (as floats). */
        NDArray codes(NDArray merged) {
            return merged.div(quantScale).add(quantZero).round().clip(0, maxCode);
        }
    }

    /** New codes of W' on the base's grid; the scales, zero points and mask are the base's own arrays. */
    @Override
    public CompressedParameters merge(Adapter adapter, FrozenLinears frozen) {
        CompressedParameters base = frozen.base();
        SplittableRandom rnd = new SplittableRandom(0);
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            return Merging.rewrite(base, (m, w) -> {
                if (!adapter.targets().contains(m.projection())) {
                    return w;
                }
                FakeQuantized trained = (FakeQuantized) trainable(m, adapter.modules().get(m), base.config(), () -> frozen, manager,
                        DataType.FLOAT32, rnd);
                QuantizedMatrix q = (QuantizedMatrix) w;
                try (NDManager s = manager.newSubManager()) {
                    NDArray dequantized = s.create(q.dequantize(), new Shape(q.rows(), q.cols()));
                    float[] codes = trained.codes(trained.merged(dequantized)).toFloatArray();
                    byte[] bytes = new byte[codes.length];
                    for (int i = 0; i < codes.length; i++) {
                        bytes[i] = (byte) (int) codes[i];
                    }
                    return new QuantizedMatrix(q.rows(), q.cols(), q.spec(), bytes, q.scales(), q.zeros(), q.mask());
                }
            }, base.manifest());
        }
    }

    @Override
    public CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint) {
        throw Merging.notOnDense(type(), " needs a compressed base");
    }
}
