package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The kinds whose module weights are a low-rank pair over the full input, A [r, in] and B [out, r],
 * stored as PEFT's lora_A / lora_B: lora, sparse-peft and qa-sparse-peft. They differ only in how
 * they are served, trained and merged, so the file side is written once here.
 */
public sealed interface FullInputLowRank extends AdapterKind permits Lora, SparsePeft, QaSparsePeft {

    @Override
    default Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    default List<PeftTensor> tensors(Projection p, ModelConfig base) {
        return LowRankPairs.tensors(rank(), p.inFeatures(base), p.outFeatures(base));
    }

    @Override
    default ModuleWeights weights(Projection p, ModelConfig base, List<float[]> values) {
        return LowRankPairs.weights(values);
    }

    @Override
    default List<PeftTensor> tensors(ModuleWeights w) {
        return LowRankPairs.tensors(rank(), (ModuleWeights.LowRank) w);
    }

    @Override
    default List<float[]> values(ModuleWeights w) {
        return LowRankPairs.values(w);
    }

    @Override
    default ModuleWeights random(Projection p, ModelConfig c, SplittableRandom rnd, double std) {
        return LowRankPairs.random(rnd, rank(), p.inFeatures(c), p.outFeatures(c), std);
    }
}
