package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import dev.chorus.engine.model.LoadedModel;

/**
 * One adapter version merged into the base: a compressed model of the base's shape whose block
 * linears are its own and whose embedding, norms, classifier and position tables are the base's
 * (shared arrays). It reads and writes the base's KV cache slots it is given, so variants and the
 * base draw from one pool.
 */
public final class MergedVariant implements AutoCloseable {
    private final AdapterKey key;
    private final LlamaWeights weights;
    private final LlamaModel model;
    private final long bytes;

    private MergedVariant(AdapterKey key, LlamaWeights weights, LlamaModel model, long bytes) {
        this.key = key;
        this.weights = weights;
        this.model = model;
        this.bytes = bytes;
    }

    /** Uploads {@code merged}'s block linears beside {@code base}; may run on any thread. */
    public static MergedVariant build(AdapterKey key, LoadedModel base, CompressedParameters merged) {
        LlamaWeights weights = LlamaWeights.variant(base.model().weights(), merged, base.manager());
        try {
            return new MergedVariant(key, weights, base.model().variant(weights), weights.bytesOwnedBeyond(base.model().weights()));
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    public AdapterKey key() {
        return key;
    }

    public LlamaModel model() {
        return model;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /** Bytes this variant adds to the base's: its block linears, on the device and in any host decode copies. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        model.close();
        weights.close();
    }

    @Override
    public String toString() {
        return "merged " + key;
    }
}
