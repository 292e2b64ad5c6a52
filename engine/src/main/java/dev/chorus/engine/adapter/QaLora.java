package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * QA-LoRA: y = Ŵx + s·B·A·pool_g(x), A [r, in/g] reads the input averaged over each quantization
 * group of g inputs, B [out, r]. Served unmerged and batched; its delta is constant over each group,
 * so it folds exactly into a base's zero points quantized with the same g.
 */
public record QaLora(int rank, float alpha, float scaling, int groupSize) implements AdapterKind {
    public QaLora {
        if (rank < 1) {
            throw new AdapterFormatException("rank must be >= 1 for qa-lora");
        }
        if (groupSize < 1) {
            throw new AdapterFormatException("qa-lora needs the quantization group size");
        }
    }

    @Override
    public AdapterType type() {
        return AdapterType.QA_LORA;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of(AdapterConfig.GROUP_SIZE, Integer.toString(groupSize));
    }

    @Override
    public List<PeftTensor> tensors(Projection p, ModelConfig base) {
        return LowRankPairs.tensors(rank, groups(p, base), p.outFeatures(base));
    }

    /** in/g, refusing a module whose inputs do not split into whole groups. */
    int groups(Projection p, ModelConfig base) {
        int in = p.inFeatures(base);
        if (in % groupSize != 0) {
            throw new AdapterFormatException(p.moduleName() + " has " + in + " inputs, not a multiple of group size " + groupSize);
        }
        return in / groupSize;
    }

    @Override
    public ModuleWeights weights(Projection p, ModelConfig base, List<float[]> values) {
        return LowRankPairs.weights(values);
    }

    @Override
    public List<PeftTensor> tensors(ModuleWeights w) {
        return LowRankPairs.tensors(rank, (ModuleWeights.LowRank) w);
    }

    @Override
    public List<float[]> values(ModuleWeights w) {
        return LowRankPairs.values(w);
    }

    @Override
    public ModuleWeights random(Projection p, ModelConfig c, SplittableRandom rnd, double std) {
        return LowRankPairs.random(rnd, rank, p.inFeatures(c) / groupSize, p.outFeatures(c), std);
    }

    @Override
    public void layInto(SlotContents slot, Adapter a) {
        a.modules().forEach((m, w) -> {
            ModuleWeights.LowRank pair = (ModuleWeights.LowRank) w;
            slot.lowRank(m, rank, scaling, pair.a(), groupSize, pair.b());
        });
    }

    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        int in = m.projection().inFeatures(c);
        return new LowRankPairs.Delta(LowRankPairs.trainable(start, rank, in / groupSize, in, m.projection().outFeatures(c), manager, dtype, rnd),
                scaling, x -> TrainableModule.pool(x, groupSize));
    }

    /** ΔW[o, j] = s·(B·A)[o, j/g]/g: only the zero points move. */
    @Override
    public CompressedParameters merge(Adapter a, FrozenLinears frozen) {
        return Merging.foldIntoZeroPoints(frozen.base(), a, groupSize, (w, o, group, groups) -> {
            ModuleWeights.LowRank pair = (ModuleWeights.LowRank) w;
            double delta = 0; // (B·A)[o, group]
            for (int k = 0; k < rank; k++) {
                delta += (double) pair.b()[o * rank + k] * pair.a()[k * groups + group];
            }
            return delta;
        });
    }

    @Override
    public CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint) {
        throw Merging.notOnDense(type(), " needs a compressed base");
    }
}
