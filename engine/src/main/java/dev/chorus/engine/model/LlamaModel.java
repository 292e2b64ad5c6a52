package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
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
 */
public final class LlamaModel implements AutoCloseable {
    private final LlamaWeights weights;
    private final ModelConfig config;
    private final NDManager manager;
    private final NDArray ropeCos; // [maxPositions, headDim/2]
    private final NDArray ropeSin; // [maxPositions, headDim/2]

    public LlamaModel(LlamaWeights weights) {
        this.weights = weights;
        this.config = weights.config;
        this.manager = weights.manager().newSubManager();
        int half = config.headDim() / 2;
        int positions = config.maxPositions();
        float[][] tables = LlamaOps.ropeTables(config, positions);
        ropeCos = manager.create(tables[0], new Shape(positions, half));
        ropeSin = manager.create(tables[1], new Shape(positions, half));
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

    /**
     * Logits [B, vocab] for the last token of each row, or [B, L, vocab] for every token when
     * {@code allPositions}; all intermediates live in {@code step}.
     */
    public NDArray forward(NDManager step, KvCache cache, int[] slots, int[] starts, int[][] tokens, boolean allPositions) {
        return forward(step, cache, slots, starts, tokens, allPositions, null);
    }

    /** As above, with each row's adapter applied to every block linear ({@code adapters} null: base only). */
    public NDArray forward(NDManager step, KvCache cache, int[] slots, int[] starts, int[][] tokens, boolean allPositions,
            RowAdapters adapters) {
        int rows = tokens.length;
        int length = tokens[0].length;
        validate(cache, slots, starts, tokens);
        long[] flatTokens = new long[rows * length];
        long[] positions = new long[rows * length];
        long[] slotOfToken = new long[rows * length];
        int visible = 0; // keys any row may look at: max over rows of starts[b] + L
        for (int b = 0; b < rows; b++) {
            for (int l = 0; l < length; l++) {
                flatTokens[b * length + l] = tokens[b][l];
                positions[b * length + l] = starts[b] + l;
                slotOfToken[b * length + l] = slots[b];
            }
            visible = Math.max(visible, starts[b] + length);
        }
        NDArray positionIndex = step.create(positions);
        NDArray slotIndex = step.create(slotOfToken);
        NDIndex readRows = consecutive(slots)
                ? new NDIndex(slots[0] + ":" + (slots[0] + rows) + ", :, :" + visible)
                : new NDIndex("{}, :, :{}", step.create(Arrays.stream(slots).asLongStream().toArray()), visible);
        Shape ropeShape = new Shape(rows, length, 1, config.headDim() / 2);
        NDArray cos = ropeCos.get(step, new NDIndex("{}", positionIndex)).reshape(ropeShape);
        NDArray sin = ropeSin.get(step, new NDIndex("{}", positionIndex)).reshape(ropeShape);
        NDArray mask = causalMask(step, starts, length, visible);

        NDArray x = weights.tokenEmbedding.get(step, new NDIndex("{}", step.create(flatTokens)))
                .reshape(rows, length, config.hiddenSize());
        for (int layer = 0; layer < weights.blocks.size(); layer++) {
            LlamaWeights.Block block = weights.blocks.get(layer);
            NDArray h = rmsNorm(x, block.attentionNorm());
            NDArray attention = attention(block, layer, h, cache, cos, sin, mask, slotIndex, positionIndex, readRows, adapters);
            x = x.add(attention);
            h = rmsNorm(x, block.ffnNorm());
            NDArray[] gateUp = project(adapters, layer, BlockInput.MLP, h, block.gate(), block.up());
            NDArray gate = gateUp[0];
            NDArray swiGlu = gate.mul(Activation.sigmoid(gate)).mul(gateUp[1]);
            x = x.add(project(adapters, layer, BlockInput.SWIGLU, swiGlu, block.down())[0]);
        }
        if (!allPositions) {
            x = x.get(new NDIndex(":, -1, :")); // [B, dim]
        }
        return weights.classifier.apply(rmsNorm(x, weights.finalNorm));
    }

    private NDArray attention(LlamaWeights.Block block, int layer, NDArray h, KvCache cache, NDArray cos, NDArray sin, NDArray mask,
            NDArray slotIndex, NDArray positionIndex, NDIndex readRows, RowAdapters adapters) {
        long rows = h.getShape().get(0);
        long length = h.getShape().get(1);
        int headDim = config.headDim();
        int kvHeads = config.numKvHeads();
        NDArray[] qkv = project(adapters, layer, BlockInput.ATTENTION, h, block.query(), block.key(), block.value());
        NDArray q = rope(qkv[0].reshape(rows, length, config.numHeads(), headDim), cos, sin);
        NDArray k = rope(qkv[1].reshape(rows, length, kvHeads, headDim), cos, sin);
        NDArray v = qkv[2].reshape(rows, length, kvHeads, headDim);

        // Append this step's keys/values at (slot, position) of every token.
        NDIndex writeAt = new NDIndex("{}, :, {}", slotIndex, positionIndex);
        cache.keys(layer).set(writeAt, k.reshape(rows * length, kvHeads, headDim));
        cache.values(layer).set(writeAt, v.reshape(rows * length, kvHeads, headDim));

        NDArray keys = cache.keys(layer).get(h.getManager(), readRows).expandDims(2); // [B, kvHeads, 1, T, headDim]
        NDArray values = cache.values(layer).get(h.getManager(), readRows).expandDims(2); // [B, kvHeads, 1, T, headDim]
        NDArray queries = q.reshape(rows, length, kvHeads, config.groupSize(), headDim)
                .transpose(0, 2, 3, 1, 4); // [B, kvHeads, group, L, headDim]
        NDArray scores = queries.matMul(keys.swapAxes(3, 4)).mul(1.0 / Math.sqrt(headDim)).add(mask); // [B, kvHeads, group, L, T]
        NDArray mixed = scores.softmax(-1).matMul(values); // [B, kvHeads, group, L, headDim]
        NDArray merged = mixed.transpose(0, 3, 1, 2, 4).reshape(rows, length, config.hiddenSize());
        return project(adapters, layer, BlockInput.HEADS, merged, block.output())[0];
    }

    /** y_i = Ŵ_i x for the linears reading {@code input}, plus each row's adapter when there are any. */
    private static NDArray[] project(RowAdapters adapters, int layer, BlockInput input, NDArray x, LinearLayer... linears) {
        NDArray[] y = new NDArray[linears.length];
        for (int i = 0; i < linears.length; i++) {
            y[i] = linears[i].apply(x);
        }
        return adapters == null ? y : adapters.apply(layer, input, x, y);
    }

    /** Rows over consecutive slots can read the cache through a slice view instead of a gather (much slower in PyTorch). */
    private static boolean consecutive(int[] slots) {
        for (int b = 1; b < slots.length; b++) {
            if (slots[b] != slots[0] + b) {
                return false;
            }
        }
        return true;
    }

    /** Additive mask [B, 1, 1, L, T]: 0 where key t is visible to query l of row b, −∞ elsewhere. */
    private static NDArray causalMask(NDManager step, int[] starts, int length, int visible) {
        float[] mask = new float[starts.length * length * visible];
        for (int b = 0; b < starts.length; b++) {
            for (int l = 0; l < length; l++) {
                int base = (b * length + l) * visible;
                for (int t = starts[b] + l + 1; t < visible; t++) {
                    mask[base + t] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return step.create(mask, new Shape(starts.length, 1, 1, length, visible));
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        return LlamaOps.rmsNorm(x, weight, config.rmsNormEps());
    }

    private NDArray rope(NDArray x, NDArray cos, NDArray sin) {
        return LlamaOps.rope(x, cos, sin, config.ropeStyle());
    }

    private void validate(KvCache cache, int[] slots, int[] starts, int[][] tokens) {
        if (tokens.length == 0 || slots.length != tokens.length || starts.length != tokens.length) {
            throw new IllegalArgumentException("rows, slots and starts must have the same non-zero length");
        }
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b].length != tokens[0].length || tokens[b].length == 0) {
                throw new IllegalArgumentException("all rows must have the same non-zero number of tokens");
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
