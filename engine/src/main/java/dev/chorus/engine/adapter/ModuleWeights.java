package dev.chorus.engine.adapter;

/**
 * One target module's trained tensors; each kind has its own shape of weights (see the kind
 * classes for which), so no record carries fields another kind leaves empty.
 */
public sealed interface ModuleWeights {

    /** A low-rank pair: lora, qa-lora, sparse-peft, qa-sparse-peft. */
    record LowRank(float[] a, float[] b) implements ModuleWeights {
        // a: [rank, in] (qa-lora: [rank, in/g]); b: [out, rank]
    }

    /** QA-HiRA's single factor; the output repeat o (= r) takes B's place. */
    record HiraFactor(float[] a, int cols) implements ModuleWeights {
        // a: [out/o, cols], cols = in/g
    }

    /** One scale per output channel (AlphaTuning / PEQA). */
    record ChannelScales(float[] scales) implements ModuleWeights {
        // scales: [out]
    }
}
