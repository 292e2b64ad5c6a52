package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Scale (AlphaTuning / PEQA): y = α ⊙ Ŵx, one trained scale per output channel on the shared
 * quantized product; stored as {@code <module>.chorus_scale} [out]. PEFT's r is 0. Served unmerged
 * (one multiply per slot); merged, α folds into each output row: a quantized row's group scales
 * s' = α·s (codes and zero points unchanged), a sparse or dense row's values α·w (zeros stay 0).
 */
public record ChannelScale(float alpha) implements AdapterKind {
    static final String SCALES = "chorus_scale";

    @Override
    public AdapterType type() {
        return AdapterType.SCALE;
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public float scaling() {
        return 0f;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public List<PeftTensor> tensors(Projection p, ModelConfig base) {
        return List.of(new PeftTensor(SCALES, new long[] {p.outFeatures(base)}));
    }

    @Override
    public ModuleWeights weights(Projection p, ModelConfig base, List<float[]> values) {
        return new ModuleWeights.ChannelScales(values.get(0));
    }

    @Override
    public List<PeftTensor> tensors(ModuleWeights w) {
        return List.of(new PeftTensor(SCALES, new long[] {((ModuleWeights.ChannelScales) w).scales().length}));
    }

    @Override
    public List<float[]> values(ModuleWeights w) {
        return List.of(((ModuleWeights.ChannelScales) w).scales());
    }

    /** α ~ N(1, std²) per output channel. */
    @Override
    public ModuleWeights random(Projection p, ModelConfig c, SplittableRandom rnd, double std) {
        return new ModuleWeights.ChannelScales(LowRankPairs.gaussian(rnd, p.outFeatures(c), 1.0, std));
    }

    @Override
    public void layInto(SlotContents slot, Adapter a) {
        a.modules().forEach((m, w) -> slot.channelScales(m, ((ModuleWeights.ChannelScales) w).scales()));
    }

    /** Scales start at 1: step 0 is the base. */
    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        int out = m.projection().outFeatures(c);
        float[] init = start != null ? ((ModuleWeights.ChannelScales) start).scales() : ones(out);
        return new Scaled(TrainableModule.trainable(manager.create(init, new Shape(out)), dtype));
    }

    /** y = α ⊙ Wx. */
    private static final class Scaled implements TrainableModule {
        private final NDArray scales; // [out]

        Scaled(NDArray scales) {
            this.scales = scales;
        }

        @Override
        public NDArray forward(NDArray x, NDArray w) {
            return BlockTrainer.linear(x, w).mul(scales);
        }

        @Override
        public List<NDArray> parameters() {
            return List.of(scales);
        }

        /** Scales decay toward 1, not 0: no weight decay. */
        @Override
        public boolean decayed() {
            return false;
        }

        @Override
        public ModuleWeights snapshot() {
            return new ModuleWeights.ChannelScales(TrainableModule.floats(scales));
        }
    }

    @Override
    public CompressedParameters merge(Adapter a, FrozenLinears frozen) {
        return Merging.rewrite(frozen.base(), (m, w) -> {
            ModuleWeights aw = a.modules().get(m);
            return aw == null ? w : scaled(w, ((ModuleWeights.ChannelScales) aw).scales(), m);
        }, frozen.base().manifest());
    }

    @Override
    public CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint) {
        return Merging.denseBase(base, fingerprint, "scale-merge", (m, w) -> {
            ModuleWeights aw = a.modules().get(m);
            return aw == null ? w : scaled(w, ((ModuleWeights.ChannelScales) aw).scales(), m);
        });
    }

    /** α folded into each output row of {@code w}. */
    private static CompressedMatrix scaled(CompressedMatrix w, float[] alpha, Adapter.Module m) {
        if (w instanceof QuantizedMatrix q) {
            int groups = q.spec().groups(q.cols());
            float[] scales = q.scales().clone();
            for (int i = 0; i < scales.length; i++) {
                scales[i] *= alpha[i / groups];
            }
            return new QuantizedMatrix(q.rows(), q.cols(), q.spec(), q.codes(), scales, q.zeros(), q.mask(), q.zeroShift());
        }
        if (w instanceof MaskedMatrix d) {
            float[] values = d.values().clone();
            for (int i = 0; i < values.length; i++) {
                values[i] *= alpha[i / d.cols()];
            }
            return new MaskedMatrix(d.rows(), d.cols(), values, d.mask());
        }
        throw new UnmergeableAdapterException("scale adapters fold into group-quantized, sparse or dense linears; layer " + m.layer() + " "
                + m.projection().moduleName() + " is binary-coded");
    }

    private static float[] ones(int n) {
        float[] out = new float[n];
        Arrays.fill(out, 1f);
        return out;
    }
}
