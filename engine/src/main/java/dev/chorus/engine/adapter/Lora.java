package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * LoRA: y = Ŵx + s·B(Ax), A [r, in], B [out, r]. Served unmerged and batched; merges only into a
 * dense base (on a compressed base its delta is not constant over quantization groups).
 */
public record Lora(int rank, float alpha, float scaling) implements FullInputLowRank {
    public Lora {
        if (rank < 1) {
            throw new AdapterFormatException("rank must be >= 1 for lora");
        }
    }

    @Override
    public AdapterType type() {
        return AdapterType.LORA;
    }

    @Override
    public void layInto(SlotContents slot, Adapter a) {
        a.modules().forEach((m, w) -> {
            ModuleWeights.LowRank pair = (ModuleWeights.LowRank) w;
            slot.lowRank(m, rank, scaling, pair.a(), 1, pair.b());
        });
    }

    @Override
    public TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd) {
        int in = m.projection().inFeatures(c);
        return new LowRankPairs.Delta(LowRankPairs.trainable(start, rank, in, in, m.projection().outFeatures(c), manager, dtype, rnd), scaling,
                x -> x);
    }

    @Override
    public CompressedParameters merge(Adapter a, FrozenLinears frozen) {
        throw Merging.servedUnmerged(type());
    }

    /** W' = W + s·B·A. */
    @Override
    public CompressedParameters mergeDense(Adapter adapter, DenseParameters base, String fingerprint) {
        return Merging.denseBase(base, fingerprint, "lora-merge", (m, dense) -> {
            ModuleWeights.LowRank aw = (ModuleWeights.LowRank) adapter.modules().get(m);
            if (aw == null) {
                return dense;
            }
            MaskedMatrix d = (MaskedMatrix) dense;
            int out = d.rows();
            int in = d.cols();
            float[] w = d.values().clone();
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double delta = 0;
                    for (int k = 0; k < rank; k++) {
                        delta += (double) aw.b()[o * rank + k] * aw.a()[k * in + i];
                    }
                    w[o * in + i] += (float) (scaling * delta);
                }
            }
            return new MaskedMatrix(out, in, w, d.mask());
        });
    }
}
