package dev.chorus.engine.finetune;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;

/**
 * Folds an adapter into its base, keeping what the base promised (ARCHITECTURE.md §4); each kind
 * owns its merge: sparse-peft → sparse float weights W' = Wᵖ + s·(BA ⊙ M), every pruned entry exactly
 * 0; qa-sparse-peft → new integer codes on the base's own grid; qa-lora and qa-hira → their
 * group-constant delta folded exactly into the zero points; lora → W + s·BA on a dense base. SQFT
 * weights are computed by the same tensor expression the training forward used, so the merged model
 * computes what was trained.
 */
public final class AdapterMerge {
    private AdapterMerge() {
    }

    /** Into a compressed base; kinds served unmerged there refuse ({@link dev.chorus.engine.adapter.UnmergeableAdapterException}). */
    public static CompressedParameters merge(FrozenLinears frozen, Adapter adapter) {
        return adapter.kind().merge(adapter, frozen);
    }

    /** Into a dense base, written in the compressed format with nothing pruned (lora only). */
    public static CompressedParameters mergeDense(DenseParameters base, Adapter adapter, String fingerprint) {
        return adapter.kind().mergeDense(adapter, base, fingerprint);
    }
}
