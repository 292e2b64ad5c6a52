package dev.chorus.engine.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks tokens for one sequence: greedy argmax at temperature 0, otherwise softmax(logits / T)
 * restricted to the top-k tokens and then to the smallest set whose probability reaches top-p.
 * The random stream belongs to the sequence, so results do not depend on batching.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
    }

    public int next(float[] logits) {
        if (params.greedy()) {
            return argMax(logits);
        }
        int n = logits.length;
        boolean cut = (params.topK() > 0 && params.topK() < n) || params.topP() < 1f;
        int[] candidates = cut ? byDescendingLogit(logits) : null;
        int keep = n;
        if (params.topK() > 0) {
            keep = Math.min(keep, params.topK());
        }
        double max = logits[cut ? candidates[0] : argMax(logits)];
        double[] weights = new double[keep];
        double total = 0;
        for (int i = 0; i < keep; i++) {
            int id = cut ? candidates[i] : i;
            weights[i] = Math.exp((logits[id] - max) / params.temperature());
            total += weights[i];
        }
        if (params.topP() < 1f) {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < keep) {
                cumulative += weights[nucleus++] / total;
                if (cumulative >= params.topP()) {
                    break;
                }
            }
            keep = nucleus;
            total = 0;
            for (int i = 0; i < keep; i++) {
                total += weights[i];
            }
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= weights[i];
            if (r < 0) {
                return cut ? candidates[i] : i;
            }
        }
        return cut ? candidates[keep - 1] : keep - 1; // rounding left r >= 0: take the last kept token
    }

    /** Index of the largest logit; the lowest index wins ties. */
    public static int argMax(float[] logits) {
        return argMax(logits, 0, logits.length);
    }

    /** The first index of the largest of logits[from, to), counted from {@code from} (one row of a batch's flat logits, uncopied). */
    public static int argMax(float[] logits, int from, int to) {
        int best = from;
        for (int i = from + 1; i < to; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best - from;
    }

    private static int[] byDescendingLogit(float[] logits) {
        Integer[] order = new Integer[logits.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> a.equals(b) ? 0 : (logits[b] != logits[a] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b)));
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }
}
