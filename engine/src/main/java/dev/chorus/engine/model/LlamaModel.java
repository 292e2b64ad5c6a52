package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Activation;
import dev.chorus.engine.llama.BlockInput;
import dev.chorus.engine.llama.ModelConfig;
import java.util.Arrays;

/**
 * The Llama forward pass: embeddings, per block RMSNorm → grouped-query attention with RoPE and a
 * KV cache → residual, RMSNorm → SwiGLU MLP → residual; final RMSNorm and the classifier.
 *
 * <p>A call runs B rows of L tokens each; row b continues the sequence in cache slot
 * {@code slots[b]} at position {@code starts[b]}. Prefill is one row with the whole prompt, decode
 * is many rows of one token, all through the same causal mask: key t is visible to query l of row b
 * iff t ≤ starts[b] + l. Rows at different positions therefore decode together exactly.
 *
 * <p>On small models a step costs its number of backend ops more than its arithmetic, so a block
 * is written in few, large ops: one product for q, k and v and one for gate and up (stacked
 * weights), RoPE of all query and key heads as one batched product with per-position rotations
 * that also carry the attention scale, RMSNorm through the backend's layer norm, and everything a
 * block needs from the step's positions built once per call ({@link StepInputs}).
 */
public final class LlamaModel implements AutoCloseable {
    private static final NDIndex LAST_TOKEN = new NDIndex().addAllDim().addIndices(-1).addAllDim();

    private final LlamaWeights weights;
    private final ModelConfig config;
    private final NDManager manager;
    private final NDArray rotations; // [maxPositions, headDim, headDim]
    private final long[] qkvSplits; // query | key | value along the stacked projection's output
    private final long[] gateUpSplit; // gate | up
    private final HostDecoder host; // one-token rows on the host; null when the weights have no host form

    public LlamaModel(LlamaWeights weights) {
        this(weights, null);
    }

    /** {@code sharing} non-null: a model of the same shape whose position tables this one reuses (a merged variant). */
    private LlamaModel(LlamaWeights weights, LlamaModel sharing) {
        this.weights = weights;
        this.config = weights.config;
        this.manager = weights.manager().newSubManager();
        rotations = sharing == null ? RopeRotations.table(config, config.maxPositions(), manager) : sharing.rotations;
        qkvSplits = new long[] {config.hiddenSize(), config.hiddenSize() + config.kvDim()};
        gateUpSplit = new long[] {config.intermediateSize()};
        host = weights.hostDecoding() ? HostDecoder.of(weights) : null;
    }

    /** A model over {@code variantWeights} (see {@link LlamaWeights#variant}) sharing this one's position tables; it reads caches of this shape. */
    public LlamaModel variant(LlamaWeights variantWeights) {
        if (!variantWeights.config.equals(config)) {
            throw new IllegalArgumentException("a variant must have its base's shape");
        }
        return new LlamaModel(variantWeights, this);
    }

    public ModelConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /** A KV cache sized for this model, owned by the caller. */
    public KvCache newCache(int slots, int capacity) {
        return new KvCache(config, manager, slots, capacity);
    }

    /** Whether decode steps of this model can run on the host ({@link #lastLogits}). */
    public boolean decodesOnHost() {
        return host != null;
    }

    /**
     * Logits of each row's last token, flat [B·vocab], as {@link #forward} gives them. A step of
     * one-token rows runs on the host when the weights have a host form and the adapters (if any)
     * apply there; anything else (prompts, backend-only adapters) runs through the backend.
     */
    public float[] lastLogits(NDManager step, KvCache cache, int[] slots, int[] starts, int[][] tokens, RowAdapters adapters) {
        if (host != null && (adapters == null || adapters.onHost()) && Arrays.stream(tokens).allMatch(t -> t.length == 1)) {
            validate(cache, slots, starts, tokens, false);
            return host.decode(cache, slots, starts, Arrays.stream(tokens).mapToInt(t -> t[0]).toArray(), adapters);
        }
        return forward(step, cache, slots, starts, tokens, false, adapters).toFloatArray();
    }

    /**
     * Logits [B, vocab] for the last token of each row, or [B, L, vocab] for every token when
     * {@code allPositions}; all intermediates live in {@code step}. Rows may hold different numbers
     * of tokens (several prompts or prompt chunks in one pass): shorter rows are padded at the end,
     * and padding writes its keys and values to the cache's spare slot, so no real token sees it.
     * Logits for all positions need rows of one length.
     */
    public NDArray forward(NDManager step, KvCache cache, int[] slots, int[] starts, int[][] tokens, boolean allPositions) {
        return forward(step, cache, slots, starts, tokens, allPositions, null);
    }

    /** As above, with each row's adapter applied to every block linear ({@code adapters} null: base only). */
    public NDArray forward(NDManager step, KvCache cache, int[] slots, int[] starts, int[][] tokens, boolean allPositions,
            RowAdapters adapters) {
        validate(cache, slots, starts, tokens, allPositions);
        StepInputs in = new StepInputs(step, rotations, cache, config.groupSize(), slots, starts, tokens);
        NDArray x = weights.tokenEmbedding.get(step, in.tokenIds); // [B, L, dim]
        for (int layer = 0; layer < weights.blocks.size(); layer++) {
            LlamaWeights.Block block = weights.blocks.get(layer);
            x.addi(attention(block, layer, block.attentionNorm().apply(x), cache, in, adapters));
            NDList gateUp = project(adapters, layer, BlockInput.MLP, block.ffnNorm().apply(x), block.gateUp(), gateUpSplit)
                    .split(gateUpSplit, 2);
            NDArray gate = gateUp.get(0);
            NDArray swiGlu = gate.mul(Activation.sigmoid(gate)).muli(gateUp.get(1));
            x.addi(project(adapters, layer, BlockInput.SWIGLU, swiGlu, block.down(), null));
        }
        if (!allPositions) {
            x = in.lastTokens == null ? x.get(LAST_TOKEN) : x.reshape(-1, config.hiddenSize()).get(in.lastTokens); // [B, dim]
        }
        return weights.classifier.apply(weights.finalNorm.apply(x));
    }

    private NDArray attention(LlamaWeights.Block block, int layer, NDArray h, KvCache cache, StepInputs in, RowAdapters adapters) {
        int rows = in.rows;
        int length = in.length;
        int headDim = config.headDim();
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int group = config.groupSize();
        NDArray qkv = project(adapters, layer, BlockInput.ATTENTION, h, block.qkv(), qkvSplits)
                .reshape(rows, length, heads + 2L * kvHeads, headDim);
        NDList queryKeyAndValue = qkv.split(new long[] {heads + kvHeads}, 2);
        // Rotate every query and key head by its token's position (and scale by headDim^(-1/4)).
        NDList qk = queryKeyAndValue.get(0).matMul(in.rotations).split(new long[] {heads}, 2); // [B, L, heads | kvHeads, headDim]

        // Append this step's keys/values at (slot, position) of every token, then read each row's visible ones.
        cache.keys(layer).set(in.writeKeys, qk.get(1));
        cache.values(layer).set(in.writeValues, queryKeyAndValue.get(1));
        NDArray keysT = cache.keys(layer).get(h.getManager(), in.readKeys); // [B, kvHeads, headDim, T]
        NDArray values = cache.values(layer).get(h.getManager(), in.readValues); // [B, kvHeads, T, headDim]

        // Query head kvHead·group + g reads kv head kvHead; its row in that head's block is l·group + g.
        // One token per row (decode) needs no transpose: the heads are already in that order.
        NDArray queries = length == 1
                ? qk.get(0).reshape(rows, kvHeads, group, headDim)
                : qk.get(0).reshape(rows, length, kvHeads, group, headDim).transpose(0, 2, 1, 3, 4)
                        .reshape(rows, kvHeads, (long) length * group, headDim);
        NDArray scores = queries.matMul(keysT); // [B, kvHeads, L·group, T], already scaled
        if (in.mask != null) {
            scores.addi(in.mask);
        }
        NDArray mixed = scores.softmax(-1).matMul(values); // [B, kvHeads, L·group, headDim]
        NDArray merged = length == 1
                ? mixed.reshape(rows, 1, config.hiddenSize())
                : mixed.reshape(rows, kvHeads, length, group, headDim).transpose(0, 2, 1, 3, 4).reshape(rows, length, config.hiddenSize());
        return project(adapters, layer, BlockInput.HEADS, merged, block.output(), null);
    }

    /**
     * Ŵx for the (stacked) linear reading {@code input}, plus each row's adapter when there are any:
     * adapters see the output split per projection at {@code splits} (null: a single projection).
     */
    private static NDArray project(RowAdapters adapters, int layer, BlockInput input, NDArray x, LinearLayer linear, long[] splits) {
        NDArray y = linear.apply(x);
        return adapters == null ? y : adapters.apply(layer, input, x, y, splits);
    }

    private void validate(KvCache cache, int[] slots, int[] starts, int[][] tokens, boolean allPositions) {
        if (tokens.length == 0 || slots.length != tokens.length || starts.length != tokens.length) {
            throw new IllegalArgumentException("rows, slots and starts must have the same non-zero length");
        }
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b].length == 0) {
                throw new IllegalArgumentException("every row needs at least one token");
            }
            if (allPositions && tokens[b].length != tokens[0].length) {
                throw new IllegalArgumentException("logits for all positions need rows of the same number of tokens");
            }
            if (slots[b] < 0 || slots[b] >= cache.slots()) {
                throw new IllegalArgumentException("slot " + slots[b] + " outside the cache's " + cache.slots() + " slots");
            }
            if (starts[b] < 0 || starts[b] + tokens[b].length > cache.capacity()) {
                throw new IllegalArgumentException("positions " + starts[b] + ".." + (starts[b] + tokens[b].length)
                        + " exceed the cache capacity " + cache.capacity());
            }
            for (int t : tokens[b]) {
                if (t < 0 || t >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + t + " outside the vocabulary of " + config.vocabSize());
                }
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
