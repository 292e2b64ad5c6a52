package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * QA-HiRA: y = Ŵx + s·repeat_o(A·pool_g(x)) with one A [out/o, in/g] per module (PEFT's r is the
 * output repeat o): a high-rank delta, constant over each quantization group, for the parameters of
 * a small LoRA. Served as the equivalent low-rank pair ({@link HiraExpansion}), folded like qa-lora.
 */
public record QaHira(int outputGroup, float alpha, float scaling, int groupSize) implements AdapterKind {
    public QaHira {
        if (outputGroup < 1) {
            throw new AdapterFormatException("rank must be >= 1 for qa-hira");
        }
        if (groupSize < 1) {
            throw new AdapterFormatException("qa-hira needs the quantization group size");
        }
    }

    @Override
    public AdapterType type() {
        return AdapterType.QA_HIRA;
    }

    /** PEFT's r carries the output repeat o. */
    @Override
    public int rank() {
        return outputGroup;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of(AdapterConfig.GROUP_SIZE, Integer.toString(groupSize));
    }

    @Override
    public List<PeftTensor> tensors(Projection p, ModelConfig base) {
        int in = p.inFeatures(base);
        int out = p.outFeatures(base);
        if (in % groupSize != 0) {
            throw new AdapterFormatException(p.moduleName() + " has " + in + " inputs, not a multiple of group size " + groupSize);
        }
        if (out % outputGroup != 0) {
            throw new AdapterFormatException(p.moduleName() + ": a qa-hira adapter has one lora_A [out/o, in/g] per module, with o = r = "
                    + outputGroup + " dividing " + out);
        }
        return List.of(new PeftTensor(LowRankPairs.A, new long[] {out / outputGroup, in / groupSize}));
    }

    @Override
    public ModuleWeights weights(Projection p, ModelConfig base, List<float[]> values) {
        return new ModuleWeights.HiraFactor(values.get(0), p.inFeatures(base) / groupSize);
    }

    @Override
    public List<PeftTensor> tensors(ModuleWeights w) {
        ModuleWeights.HiraFactor factor = (ModuleWeights.HiraFactor) w;
        return List.of(new PeftTensor(LowRankPairs.A, new long[] {factor.a().length / factor.cols(), factor.cols()}));
    }

    @Override
    public List<float[]> values(ModuleWeights w) {
        return List.of(((ModuleWeights.HiraFactor) w).a());
    }

    @Override
    public ModuleWeights random(Projection p, ModelConfig c, SplittableRandom rnd, double std) {
        int cols = p.inFeatures(c) / groupSize;
        return new ModuleWeights.HiraFactor(LowRankPairs.gaussian(rnd, p.outFeatures(c) / outputGroup * cols, 0, std), cols);
    }

    /** Served as the low-rank pair of rank max(out/o), A with the pooling folded in and B the output repeat. */
    @Override
    public void layInto(SlotContents slot, Adapter a) {
        int r = HiraExpansion.rank(a, slot.config());
        if (r > slot.maxRank()) {
            throw new AdapterFormatException("a qa-hira adapter with output group " + outputGroup + " is served as rank " + r
                    + ", above the slot rank " + slot.maxRank() + "; use a larger output group");
        }
        HiraExpansion.toLowRank(this, a, slot.config()).forEach((m, pair) -> slot.lowRank(m, r, scaling, pair.a(), 1, pair.b()));
    }

    /** One A [out/o, in/g], starting at 0 (there is no B to hold the zero). */
    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        Shape shape = new Shape(m.projection().outFeatures(c) / outputGroup, m.projection().inFeatures(c) / groupSize);
        float[] init = start != null ? ((ModuleWeights.HiraFactor) start).a() : new float[(int) shape.size()];
        return new Repeated(TrainableModule.trainable(manager.create(init, shape), dtype));
    }

    /** y = Wx + s·repeat_o(A·pool_g(x)). */
    private final class Repeated implements TrainableModule {
        private final NDArray a; // [out/o, in/g]

        Repeated(NDArray a) {
            this.a = a;
        }

        @Override
        public NDArray forward(NDArray x, NDArray w) {
            NDArray low = BlockTrainer.linear(TrainableModule.pool(x, groupSize), a); // [.., out/o]
            return BlockTrainer.linear(x, w).add(low.repeat(low.getShape().dimension() - 1, outputGroup).mul(scaling));
        }

        @Override
        public List<NDArray> parameters() {
            return List.of(a);
        }

        @Override
        public boolean decayed() {
            return true;
        }

        @Override
        public ModuleWeights snapshot() {
            return new ModuleWeights.HiraFactor(TrainableModule.floats(a), (int) a.getShape().get(1));
        }
    }

    /** ΔW[o, j] = s·A[o/r, j/g]/g: only the zero points move. */
    @Override
    public CompressedParameters merge(Adapter a, FrozenLinears frozen) {
        return Merging.foldIntoZeroPoints(frozen.base(), a, groupSize,
                (w, o, group, groups) -> ((ModuleWeights.HiraFactor) w).a()[(o / outputGroup) * groups + group]);
    }

    @Override
    public CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint) {
        throw Merging.notOnDense(type(), " needs a compressed base");
    }
}
