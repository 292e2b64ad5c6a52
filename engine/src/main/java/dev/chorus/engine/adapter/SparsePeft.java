package dev.chorus.engine.adapter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.model.BlockTrainer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * SQFT SparsePEFT: y = Wᵖx + s·(BA ⊙ M)x with M the base's sparsity mask, A [r, in], B [out, r].
 * Served merged only, W' = Wᵖ + s·(BA ⊙ M) as sparse float weights: every pruned entry stays 0.
 */
public record SparsePeft(int rank, float alpha, float scaling) implements FullInputLowRank {
    public SparsePeft {
        if (rank < 1) {
            throw new AdapterFormatException("rank must be >= 1 for sparse-peft");
        }
    }

    @Override
    public AdapterType type() {
        return AdapterType.SPARSE_PEFT;
    }

    @Override
    public void layInto(SlotContents slot, Adapter a) {
        throw new MergedOnlyException(type());
    }

    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        NDArray keep = keep(m, frozen, type(), manager, dtype);
        int in = m.projection().inFeatures(c);
        return new MaskedDelta(LowRankPairs.trainable(start, rank, in, in, m.projection().outFeatures(c), manager, dtype, rnd), scaling, keep);
    }

    /** The base's mask of {@code m} as 0/1 [out, in]. */
    static NDArray keep(Adapter.Module m, Supplier<FrozenLinears> frozen, AdapterType type, NDManager manager, DataType dtype) {
        FrozenLinears base = frozen == null ? null : frozen.get();
        if (base == null) {
            throw new IllegalArgumentException(type.label() + " trains against a compressed base's mask");
        }
        SparsityMask mask = base.masks().get(m);
        return manager.create(mask.keepWeights(), new Shape(mask.rows(), mask.cols())).toType(dtype, false);
    }

    /** y = (W + s·(BA ⊙ M))x: the delta never touches a pruned weight. */
    static class MaskedDelta implements TrainableModule {
        private final NDArray a; // [rank, in]
        private final NDArray b; // [out, rank]
        private final float scaling;
        private final NDArray keep; // [out, in]: the base's mask as 0/1

        MaskedDelta(NDArray[] ab, float scaling, NDArray keep) {
            this.a = ab[0];
            this.b = ab[1];
            this.scaling = scaling;
            this.keep = keep;
        }

        @Override
        public NDArray forward(NDArray x, NDArray w) {
            return BlockTrainer.linear(x, effectiveWeight(w));
        }

        /** The weight the forward multiplies by. */
        NDArray effectiveWeight(NDArray w) {
            return merged(w);
        }

        /** W' = W + s·(BA ⊙ M): one expression for the training forward and for the merge, so both compute the same floats. */
        final NDArray merged(NDArray w) {
            return w.add(b.matMul(a).mul(scaling).mul(keep));
        }

        @Override
        public List<NDArray> parameters() {
            return List.of(a, b);
        }

        @Override
        public boolean decayed() {
            return true;
        }

        @Override
        public ModuleWeights snapshot() {
            return new ModuleWeights.LowRank(TrainableModule.floats(a), TrainableModule.floats(b));
        }
    }

    /** W' as float32 with the base's mask; untargeted linears are the base's, dequantized. */
    @Override
    public CompressedParameters merge(Adapter adapter, FrozenLinears frozen) {
        CompressedParameters base = frozen.base();
        CompressionManifest mb = base.manifest();
        CompressionManifest manifest = new CompressionManifest(mb.formatVersion(), mb.pattern(), mb.sparsity(), null, null, null, mb.method(),
                false, mb.ebft(), null, mb.sourceFingerprint(), mb.calibration());
        SplittableRandom rnd = new SplittableRandom(0);
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            return Merging.rewrite(base, (m, w) -> {
                SparsityMask mask = frozen.masks().get(m);
                float[] values = w.dequantize();
                if (adapter.targets().contains(m.projection())) {
                    MaskedDelta trained = (MaskedDelta) trainable(m, adapter.modules().get(m), base.config(), () -> frozen, manager,
                            DataType.FLOAT32, rnd);
                    try (NDManager s = manager.newSubManager()) {
                        values = trained.effectiveWeight(s.create(values, new Shape(mask.rows(), mask.cols()))).toFloatArray();
                    }
                }
                return new MaskedMatrix(mask.rows(), mask.cols(), values, mask);
            }, manifest);
        }
    }

    @Override
    public CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint) {
        throw Merging.notOnDense(type(), " needs a compressed base");
    }
}
