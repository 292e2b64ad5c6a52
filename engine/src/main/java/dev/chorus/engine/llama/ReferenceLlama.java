package dev.chorus.engine.llama;


/**
 * The Llama forward in plain Java over one whole sequence, written to read like the math. It is the
 * test oracle of the DJL forward and the calibration engine of compression: {@link #block} takes
 * the block's weights as an argument so callers can run a pruned or quantized block, and reports
 * the inputs of every linear layer to an observer.
 */
public final class ReferenceLlama {
    private final DenseParameters p;
    private final ModelConfig c;

    public ReferenceLlama(DenseParameters p) {
        this.p = p;
        this.c = p.config();
    }

    /** Token embeddings [T][dim]. */
    public float[][] embed(int[] tokens) {
        int dim = c.hiddenSize();
        float[][] x = new float[tokens.length][dim];
        for (int t = 0; t < tokens.length; t++) {
            System.arraycopy(p.tokenEmbedding(), tokens[t] * dim, x[t], 0, dim);
        }
        return x;
    }

    /** One block over positions 0..T−1 with causal attention; returns the new hidden states [T][dim]. */
    public float[][] block(int layer, DenseParameters.Layer w, float[][] x, ActivationObserver observer) {
        int dim = c.hiddenSize();
        int hidden = c.intermediateSize();
        float[][] h = rmsNorm(x, w.attentionNorm());
        notify(observer, Projection.Q, h);
        notify(observer, Projection.K, h);
        notify(observer, Projection.V, h);
        float[][] q = matmul(h, w.query(), dim, dim);
        float[][] k = matmul(h, w.key(), c.kvDim(), dim);
        float[][] v = matmul(h, w.value(), c.kvDim(), dim);
        for (int t = 0; t < x.length; t++) {
            rope(q[t], t, c.numHeads());
            rope(k[t], t, c.numKvHeads());
        }
        float[][] attention = attention(q, k, v);
        notify(observer, Projection.O, attention);
        float[][] afterAttention = add(x, matmul(attention, w.output(), dim, dim));
        float[][] h2 = rmsNorm(afterAttention, w.ffnNorm());
        notify(observer, Projection.GATE, h2);
        notify(observer, Projection.UP, h2);
        float[][] gate = matmul(h2, w.gate(), hidden, dim);
        float[][] up = matmul(h2, w.up(), hidden, dim);
        float[][] swiGlu = new float[x.length][hidden];
        for (int t = 0; t < x.length; t++) {
            for (int j = 0; j < hidden; j++) {
                float g = gate[t][j];
                swiGlu[t][j] = (float) (g / (1 + Math.exp(-g))) * up[t][j];
            }
        }
        notify(observer, Projection.DOWN, swiGlu);
        return add(afterAttention, matmul(swiGlu, w.down(), dim, hidden));
    }

    /** Final norm and classifier: logits [T][vocab]. */
    public float[][] logits(float[][] x) {
        return matmul(rmsNorm(x, p.finalNorm()), p.classifier(), c.vocabSize(), c.hiddenSize());
    }

    public float[][] forward(int[] tokens) {
        float[][] x = embed(tokens);
        for (int l = 0; l < c.numLayers(); l++) {
            x = block(l, p.layers().get(l), x, null);
        }
        return logits(x);
    }

    /** softmax(q·kᵀ/√d + causal mask)·v per query head; query head h reads kv head h / group. */
    private float[][] attention(float[][] q, float[][] k, float[][] v) {
        int T = q.length;
        int hd = c.headDim();
        float[][] out = new float[T][c.hiddenSize()];
        double scale = 1.0 / Math.sqrt(hd);
        double[] scores = new double[T];
        for (int head = 0; head < c.numHeads(); head++) {
            int qo = head * hd;
            int ko = head / c.groupSize() * hd;
            for (int t = 0; t < T; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int i = 0; i < hd; i++) {
                        dot += q[t][qo + i] * k[s][ko + i];
                    }
                    scores[s] = dot * scale;
                    max = Math.max(max, scores[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    scores[s] = Math.exp(scores[s] - max);
                    sum += scores[s];
                }
                for (int s = 0; s <= t; s++) {
                    float weight = (float) (scores[s] / sum);
                    for (int i = 0; i < hd; i++) {
                        out[t][qo + i] += weight * v[s][ko + i];
                    }
                }
            }
        }
        return out;
    }

    /** Rotates each head of one position's vector in place, in the checkpoint's RoPE layout. */
    private void rope(float[] vec, int position, int heads) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            int base = head * hd;
            for (int j = 0; j < half; j++) {
                double angle = position * Math.pow(c.ropeTheta(), -2.0 * j / hd);
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                int a = c.ropeStyle() == RopeStyle.HALF_SPLIT ? base + j : base + 2 * j;
                int b = c.ropeStyle() == RopeStyle.HALF_SPLIT ? base + j + half : base + 2 * j + 1;
                float x1 = vec[a];
                float x2 = vec[b];
                vec[a] = x1 * cos - x2 * sin;
                vec[b] = x2 * cos + x1 * sin;
            }
        }
    }

    private float[][] rmsNorm(float[][] x, float[] weight) {
        float[][] out = new float[x.length][];
        for (int t = 0; t < x.length; t++) {
            double sum = 0;
            for (float v : x[t]) {
                sum += (double) v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(sum / x[t].length + c.rmsNormEps()));
            out[t] = new float[x[t].length];
            for (int i = 0; i < x[t].length; i++) {
                out[t][i] = x[t][i] * inv * weight[i];
            }
        }
        return out;
    }

    /** rows [T][in] times Wᵀ for W [out, in] → [T][out]. */
    static float[][] matmul(float[][] x, float[] w, int out, int in) {
        float[][] y = new float[x.length][out];
        for (int t = 0; t < x.length; t++) {
            float[] row = x[t];
            for (int o = 0; o < out; o++) {
                int off = o * in;
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += row[i] * w[off + i];
                }
                y[t][o] = sum;
            }
        }
        return y;
    }

    private static float[][] add(float[][] a, float[][] b) {
        float[][] out = new float[a.length][];
        for (int t = 0; t < a.length; t++) {
            out[t] = new float[a[t].length];
            for (int i = 0; i < a[t].length; i++) {
                out[t][i] = a[t][i] + b[t][i];
            }
        }
        return out;
    }

    private static void notify(ActivationObserver observer, Projection p, float[][] inputs) {
        if (observer != null) {
            observer.onInput(p, inputs);
        }
    }
}
