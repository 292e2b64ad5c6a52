package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one adapter puts into one batched slot, in the slot tensors' layout, staged on the host so
 * that a kind can refuse before the slot's old contents are touched. Lora, qa-lora and qa-hira all
 * become a low-rank pair (Aᵀ with any group pooling folded in, (s·B)ᵀ), scale adapters become
 * per-channel scales.
 */
public final class SlotContents {
    /** A module's low-rank pair as the slot stores it. */
    record LowRankSlot(int rank, float[] downT, float[] upT) {
        // downT: Aᵀ [in, maxRank]; upT: (s·B)ᵀ [maxRank, out]; ranks from rank on are zero
    }

    private final ModelConfig config;
    private final int maxRank;
    private final Map<Adapter.Module, LowRankSlot> lowRank = new LinkedHashMap<>();
    private final Map<Adapter.Module, float[]> scales = new LinkedHashMap<>(); // [out]

    SlotContents(ModelConfig config, int maxRank) {
        this.config = config;
        this.maxRank = maxRank;
    }

    ModelConfig config() {
        return config;
    }

    int maxRank() {
        return maxRank;
    }

    /**
     * A module y += s·B·A·pool_g(x): A [rank, in/g], B [out, rank]. Stored as A'[:, j] = A[:, j/g]/g so
     * that A'x = A·pool_g(x), zero-padded to the slot rank, with s folded into B.
     */
    void lowRank(Adapter.Module m, int rank, float scaling, float[] a, int g, float[] b) {
        if (rank > maxRank) {
            throw new AdapterFormatException("adapter rank " + rank + " exceeds the slot rank " + maxRank);
        }
        Projection p = m.projection();
        int in = p.inFeatures(config);
        int out = p.outFeatures(config);
        int r = maxRank;
        int cols = in / g;
        float[] downT = new float[in * r]; // Aᵀ [in, maxRank]
        float[] upT = new float[r * out]; // (s·B)ᵀ [maxRank, out]
        for (int k = 0; k < rank; k++) {
            for (int j = 0; j < in; j++) {
                downT[j * r + k] = a[k * cols + j / g] / g;
            }
        }
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < rank; k++) {
                upT[k * out + o] = scaling * b[o * rank + k];
            }
        }
        lowRank.put(m, new LowRankSlot(rank, downT, upT));
    }

    /** A module y = α ⊙ Ŵx: α [out]. */
    void channelScales(Adapter.Module m, float[] alpha) {
        scales.put(m, alpha);
    }

    Map<Adapter.Module, LowRankSlot> lowRankModules() {
        return lowRank;
    }

    Map<Adapter.Module, float[]> scaleModules() {
        return scales;
    }
}
