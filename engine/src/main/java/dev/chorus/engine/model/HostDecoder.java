package dev.chorus.engine.model;

import dev.chorus.engine.llama.BlockInput;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode step of one-token rows computed on the host, the same math as {@link LlamaModel#forward}
 * without a backend op: a small model's step costs about 200 backend dispatches of 5–15 µs each,
 * more than its arithmetic, and the backend's single-row product reads weights at well below memory
 * bandwidth. Linears run through each layer's {@link HostLinear}; keys and values are written to and
 * read from the shared {@link KvCache} through views of its memory, so the backend path (prefill,
 * larger batches) continues the same sequences.
 */
final class HostDecoder {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    private record Block(float[] attentionNorm, HostLinear qkv, HostLinear output, float[] ffnNorm, HostLinear gateUp, HostLinear down) {
    }

    private final ModelConfig config;
    private final FloatBuffer embedding; // [vocab, dim], a view of the device array
    private final List<Block> blocks;
    private final float[] finalNorm; // [dim]
    private final HostLinear classifier; // [vocab, dim]
    private final float[] cos; // [positions, headDim/2], times headDim^(-1/4) (RopeRotations.scaledAngles)
    private final float[] sin; // [positions, headDim/2], the same scale

    private HostDecoder(ModelConfig config, FloatBuffer embedding, List<Block> blocks, float[] finalNorm, HostLinear classifier) {
        this.config = config;
        this.embedding = embedding;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.classifier = classifier;
        float[][] angles = RopeRotations.scaledAngles(config, config.maxPositions());
        cos = angles[0];
        sin = angles[1];
    }

    /** The host path over {@code w} (weights kept for host decoding, so on the CPU), or null when some block linear has no host form. */
    static HostDecoder of(LlamaWeights w) {
        List<Block> blocks = new ArrayList<>();
        for (LlamaWeights.Block b : w.blocks) {
            if (b.linears().stream().anyMatch(l -> l.onHost() == null)) {
                return null;
            }
            blocks.add(new Block(b.attentionNorm().hostWeight(), b.qkv().onHost(), b.output().onHost(), b.ffnNorm().hostWeight(),
                    b.gateUp().onHost(), b.down().onHost()));
        }
        // A view of the device array's memory (on the CPU); were it a copy, it would still hold the same immutable rows.
        FloatBuffer embedding = w.tokenEmbedding.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        return new HostDecoder(w.config, embedding, List.copyOf(blocks), w.finalNorm.hostWeight(), w.classifier.onHost());
    }

    /**
     * Logits [B, vocab] of row b's token {@code tokens[b]} at position {@code positions[b]} of cache
     * slot {@code slots[b]}; appends its key and value there. {@code adapters}: null, or ones that
     * apply on the host.
     */
    float[] decode(KvCache cache, int[] slots, int[] positions, int[] tokens, RowAdapters adapters) {
        int rows = tokens.length;
        int dim = config.hiddenSize();
        int ff = config.intermediateSize();
        float[] x = new float[rows * dim]; // the residual stream
        for (int b = 0; b < rows; b++) {
            embedding.get(tokens[b] * dim, x, b * dim, dim);
        }
        float[] normed = new float[rows * dim];
        float[] qkv = new float[rows * (dim + 2 * config.kvDim())];
        float[] heads = new float[rows * dim];
        float[] delta = new float[rows * dim];
        float[] gateUp = new float[rows * 2 * ff];
        float[] swiGlu = new float[rows * ff];
        Attention attention = new Attention(config.headDim(), positions);
        for (int layer = 0; layer < blocks.size(); layer++) {
            Block block = blocks.get(layer);
            rmsNorm(x, block.attentionNorm(), rows, normed);
            project(adapters, layer, BlockInput.ATTENTION, block.qkv(), normed, rows, qkv);
            attend(cache, layer, slots, positions, qkv, rows, heads, attention);
            project(adapters, layer, BlockInput.HEADS, block.output(), heads, rows, delta);
            addInto(x, delta);
            rmsNorm(x, block.ffnNorm(), rows, normed);
            project(adapters, layer, BlockInput.MLP, block.gateUp(), normed, rows, gateUp);
            for (int b = 0; b < rows; b++) {
                swiGlu(gateUp, b * 2 * ff, b * 2 * ff + ff, ff, swiGlu, b * ff);
            }
            project(adapters, layer, BlockInput.SWIGLU, block.down(), swiGlu, rows, delta);
            addInto(x, delta);
        }
        rmsNorm(x, finalNorm, rows, normed);
        float[] logits = new float[rows * config.vocabSize()];
        classifier.multiply(normed, rows, logits);
        return logits;
    }

    /** out[at + i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^(−g)); vectorized, as exp per element would cost more than the products at larger batches. */
    private static void swiGlu(float[] v, int gateAt, int upAt, int n, float[] out, int at) {
        int i = 0;
        for (; i <= n - F.length(); i += F.length()) {
            FloatVector gate = FloatVector.fromArray(F, v, gateAt + i);
            FloatVector silu = gate.div(gate.neg().lanewise(VectorOperators.EXP).add(1f));
            silu.mul(FloatVector.fromArray(F, v, upAt + i)).intoArray(out, at + i);
        }
        for (; i < n; i++) {
            float gate = v[gateAt + i];
            out[at + i] = gate / (1 + (float) Math.exp(-gate)) * v[upAt + i];
        }
    }

    private static void project(RowAdapters adapters, int layer, BlockInput input, HostLinear linear, float[] x, int rows, float[] y) {
        linear.multiply(x, rows, y);
        if (adapters != null) {
            adapters.addOnHost(layer, input, x, rows, y);
        }
    }

    /**
     * Per row: RoPE on its query and key heads, its key and value appended to the cache, then every
     * query head's softmax(q·Kᵀ)·V over positions 0..position (keys carry the scale already).
     */
    private void attend(KvCache cache, int layer, int[] slots, int[] positions, float[] qkv, int rows, float[] heads, Attention scratch) {
        FloatBuffer keys = cache.hostKeys(layer); // [slots, kvHeads, headDim, capacity]
        FloatBuffer values = cache.hostValues(layer); // [slots, kvHeads, capacity, headDim]
        int hd = config.headDim();
        int nHeads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int group = config.groupSize();
        int capacity = cache.capacity();
        int width = config.hiddenSize() + 2 * config.kvDim();
        float[] keyBlock = scratch.keys;
        float[] valueBlock = scratch.values;
        float[] scores = scratch.scores;
        for (int b = 0; b < rows; b++) {
            int position = positions[b];
            int visible = position + 1;
            int q = b * width;
            int k = q + nHeads * hd;
            int v = k + kvHeads * hd;
            rotate(qkv, q, nHeads + kvHeads, position);
            for (int kh = 0; kh < kvHeads; kh++) {
                int keyAt = (slots[b] * kvHeads + kh) * hd * capacity;
                int valueAt = (slots[b] * kvHeads + kh) * capacity * hd;
                for (int d = 0; d < hd; d++) {
                    keys.put(keyAt + d * capacity + position, qkv[k + kh * hd + d]);
                    keys.get(keyAt + d * capacity, keyBlock, d * visible, visible);
                }
                values.put(valueAt + position * hd, qkv, v + kh * hd, hd);
                values.get(valueAt, valueBlock, 0, visible * hd);
                for (int g = 0; g < group; g++) {
                    int head = kh * group + g;
                    attendHead(qkv, q + head * hd, keyBlock, valueBlock, visible, scores, heads, b * config.hiddenSize() + head * hd);
                }
            }
        }
    }

    /** One step's attention buffers, sized for its longest row and shared by all layers (batch-1 `overhead` 1.11 → 1.02 on stories15M). */
    private static final class Attention {
        final float[] keys; // [headDim, T]: one row's keys of one kv head
        final float[] values; // [T, headDim]
        final float[] scores; // [T]

        Attention(int headDim, int[] positions) {
            int seen = 0;
            for (int p : positions) {
                seen = Math.max(seen, p + 1);
            }
            keys = new float[headDim * seen];
            values = new float[seen * headDim];
            scores = new float[seen];
        }
    }

    /** out[at..at+hd) = softmax(q·K)·V for one query head over {@code visible} positions. */
    private void attendHead(float[] qkv, int qAt, float[] keyBlock, float[] valueBlock, int visible, float[] scores, float[] out, int at) {
        int hd = config.headDim();
        int lanes = F.length();
        java.util.Arrays.fill(scores, 0, visible, 0f);
        for (int d = 0; d < hd; d++) { // scores[t] += q[d]·K[d, t]
            float qd = qkv[qAt + d];
            int row = d * visible;
            int t = 0;
            for (; t <= visible - lanes; t += lanes) {
                FloatVector.fromArray(F, keyBlock, row + t).fma(FloatVector.broadcast(F, qd), FloatVector.fromArray(F, scores, t))
                        .intoArray(scores, t);
            }
            for (; t < visible; t++) {
                scores[t] += qd * keyBlock[row + t];
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < visible; t++) {
            max = Math.max(max, scores[t]);
        }
        float sum = 0;
        int t0 = 0;
        for (; t0 <= visible - lanes; t0 += lanes) {
            FloatVector e = FloatVector.fromArray(F, scores, t0).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(scores, t0);
            sum += e.reduceLanes(VectorOperators.ADD);
        }
        for (int t = t0; t < visible; t++) {
            scores[t] = (float) Math.exp(scores[t] - max);
            sum += scores[t];
        }
        java.util.Arrays.fill(out, at, at + hd, 0f);
        for (int t = 0; t < visible; t++) { // out += p[t]·V[t, :]
            float p = scores[t] / sum;
            int row = t * hd;
            int d = 0;
            for (; d <= hd - lanes; d += lanes) {
                FloatVector.fromArray(F, valueBlock, row + d).fma(FloatVector.broadcast(F, p), FloatVector.fromArray(F, out, at + d))
                        .intoArray(out, at + d);
            }
            for (; d < hd; d++) {
                out[at + d] += p * valueBlock[row + d];
            }
        }
    }

    /** Rotates {@code count} consecutive heads starting at {@code from} by {@code position} (pairs as the model's RoPE style). */
    private void rotate(float[] v, int from, int count, int position) {
        int hd = config.headDim();
        int half = hd / 2;
        boolean interleaved = config.ropeStyle() == RopeStyle.INTERLEAVED;
        for (int h = 0; h < count; h++) {
            int base = from + h * hd;
            for (int j = 0; j < half; j++) {
                int a = base + (interleaved ? 2 * j : j);
                int b = base + (interleaved ? 2 * j + 1 : j + half);
                float c = cos[position * half + j];
                float s = sin[position * half + j];
                float va = v[a];
                float vb = v[b];
                v[a] = va * c - vb * s;
                v[b] = va * s + vb * c;
            }
        }
    }

    /** out = x · w / sqrt(mean(x²) + eps), row by row. */
    private void rmsNorm(float[] x, float[] w, int rows, float[] out) {
        int dim = w.length;
        for (int b = 0; b < rows; b++) {
            int at = b * dim;
            double squares = 0;
            for (int i = 0; i < dim; i++) {
                squares += x[at + i] * x[at + i];
            }
            float inv = (float) (1 / Math.sqrt(squares / dim + config.rmsNormEps()));
            for (int i = 0; i < dim; i++) {
                out[at + i] = x[at + i] * inv * w[i];
            }
        }
    }

    private static void addInto(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }
}
