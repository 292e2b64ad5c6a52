package dev.chorus.engine.merged;

import java.time.Duration;

/**
 * Merged variants' budget and dynamic merge policy (dLoRA's, with a share condition): an adapter
 * whose running + waiting requests average at least {@code mergeAt} × the batch size over the
 * {@code window}, and at least {@code mergeShare} of all running + waiting requests, is merged; it
 * stays merged while they average at least {@code stayAt} × the batch size and {@code stayShare} of
 * the requests. The share condition is ours: here a merged adapter's rows run as a forward of their
 * own beside the base's, which pays only when they are nearly the whole batch (bench merge: on
 * TinyStories-656K merging lost 21% throughput at a hot share of 0.5 and 0.8 and gained 13% at
 * 0.95). While other tenants wait, variant rows hold at most (1 − {@code starvationReserve}) of
 * the batch slots.
 *
 * @param maxModels merged variants resident at once (0: none)
 * @param maxBytes bytes all variants may add to the base's (device arrays and host decode copies)
 * @param dynamic whether hot exactly-mergeable adapters are merged on demand
 */
public record MergeSettings(int maxModels, long maxBytes, boolean dynamic, double mergeAt, double stayAt, double mergeShare,
        double stayShare, Duration window, double starvationReserve) {

    /** dLoRA's published queue thresholds, our measured share thresholds (0.9 / 0.8), a 2 s window, a quarter of the slots kept for others. */
    public static MergeSettings defaults(int maxModels, long maxBytes, boolean dynamic) {
        return new MergeSettings(maxModels, maxBytes, dynamic, 1.0, 0.56, 0.9, 0.8, Duration.ofSeconds(2), 0.25);
    }

    public MergeSettings {
        if (maxModels < 0 || maxBytes < 0) {
            throw new IllegalArgumentException("max-models and max-bytes must be >= 0");
        }
        if (!(mergeAt > 0) || !(stayAt > 0) || stayAt > mergeAt) {
            throw new IllegalArgumentException("merge thresholds need 0 < stay-at <= merge-at, got merge-at " + mergeAt + ", stay-at " + stayAt);
        }
        if (!(mergeShare >= 0) || !(stayShare >= 0) || stayShare > mergeShare || mergeShare > 1) {
            throw new IllegalArgumentException("share thresholds need 0 <= stay-share <= merge-share <= 1, got merge-share " + mergeShare
                    + ", stay-share " + stayShare);
        }
        if (window == null || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("the merge window must be positive");
        }
        if (!(starvationReserve >= 0) || starvationReserve >= 1) {
            throw new IllegalArgumentException("the starvation reserve must be in [0, 1), got " + starvationReserve);
        }
    }
}
