package dev.chorus.engine.compress;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import java.util.List;

/**
 * Quality of a model against a reference on held-out sequences: mean per-token KL(reference‖model),
 * top-1 agreement of the next-token argmax, and both models' perplexity on the sequences' own
 * next tokens.
 */
public final class ModelComparison {
    public record Report(double klMean, double top1Agreement, double pplModel, double pplReference, int sequences, long tokens) {
    }

    private ModelComparison() {
    }

    public static Report compare(LoadedModel model, LoadedModel reference, List<int[]> sequences) {
        if (model.config().vocabSize() != reference.config().vocabSize()) {
            throw new IllegalArgumentException("models have different vocabularies: " + model.config().vocabSize() + " vs "
                    + reference.config().vocabSize());
        }
        int vocab = model.config().vocabSize();
        double kl = 0;
        double nllModel = 0;
        double nllReference = 0;
        long agree = 0;
        long tokens = 0;
        for (int[] seq : sequences) {
            if (seq.length < 2) {
                continue;
            }
            float[] p = logits(reference, seq);
            float[] q = logits(model, seq);
            for (int t = 0; t + 1 < seq.length; t++) {
                int off = t * vocab;
                double[] logP = logSoftmax(p, off, vocab);
                double[] logQ = logSoftmax(q, off, vocab);
                double sum = 0;
                for (int v = 0; v < vocab; v++) {
                    sum += Math.exp(logP[v]) * (logP[v] - logQ[v]);
                }
                kl += sum;
                nllReference -= logP[seq[t + 1]];
                nllModel -= logQ[seq[t + 1]];
                agree += argMax(p, off, vocab) == argMax(q, off, vocab) ? 1 : 0;
                tokens++;
            }
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("no sequence has two or more tokens to evaluate");
        }
        return new Report(kl / tokens, (double) agree / tokens, Math.exp(nllModel / tokens), Math.exp(nllReference / tokens),
                sequences.size(), tokens);
    }

    /** Mean next-token negative log-likelihood → perplexity of one model on the sequences. */
    public static double perplexity(LoadedModel model, List<int[]> sequences) {
        int vocab = model.config().vocabSize();
        double nll = 0;
        long tokens = 0;
        for (int[] seq : sequences) {
            float[] logits = seq.length < 2 ? new float[0] : logits(model, seq);
            for (int t = 0; t + 1 < seq.length; t++) {
                nll -= logSoftmax(logits, t * vocab, vocab)[seq[t + 1]];
                tokens++;
            }
        }
        return Math.exp(nll / Math.max(1, tokens));
    }

    /** Logits [T, vocab] of every position of one sequence. */
    static float[] logits(LoadedModel m, int[] seq) {
        if (seq.length > m.config().maxPositions()) {
            throw new IllegalArgumentException("sequence of " + seq.length + " tokens exceeds the context of " + m.config().maxPositions());
        }
        try (KvCache cache = m.model().newCache(1, seq.length); NDManager step = m.manager().newSubManager()) {
            return m.model().forward(step, cache, new int[] {0}, new int[] {0}, new int[][] {seq}, true).toFloatArray();
        }
    }

    private static double[] logSoftmax(float[] logits, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double z = 0;
        for (int i = 0; i < n; i++) {
            z += Math.exp(logits[off + i] - max);
        }
        double log = max + Math.log(z);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = logits[off + i] - log;
        }
        return out;
    }

    private static int argMax(float[] logits, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > logits[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
