package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.AdapterKey;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * dLoRA's merge policy over a sliding window: each step samples every exactly-mergeable adapter's
 * running + waiting requests; once per window the averages decide. An unmerged adapter averaging at
 * least mergeAt × batch and mergeShare of all requests is merged (the hottest one per decision); a
 * merged one averaging below stayAt × batch or stayShare of all requests is unmerged. The gap between the two thresholds keeps an adapter near the line
 * from flapping. Time comes from the caller, so tests drive it.
 */
public final class MergePolicy {

    public enum Action {
        MERGE, UNMERGE, EVICT, FAILED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One decision and the average queue (running + waiting requests) it was taken on. */
    public record Decision(Action action, AdapterKey key, double averageQueue, double threshold) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s %s: average queue %.2f vs threshold %.2f", action.label(), key, averageQueue,
                    threshold);
        }
    }

    private record Sample(long nanos, Map<AdapterKey, Integer> load, int total) {
    }

    private final double mergeAt; // requests, = settings.mergeAt × batch
    private final double stayAt;
    private final double mergeShare; // of all running + waiting requests
    private final double stayShare;
    private final long windowNanos;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private long lastDecision;

    public MergePolicy(MergeSettings settings, int batchSize, long startNanos) {
        this.mergeAt = settings.mergeAt() * batchSize;
        this.stayAt = settings.stayAt() * batchSize;
        this.mergeShare = settings.mergeShare();
        this.stayShare = settings.stayShare();
        this.windowNanos = settings.window().toNanos();
        this.lastDecision = startNanos;
    }

    /** Records each mergeable adapter's running + waiting requests at {@code nanos}, and all requests' ({@code total}). */
    public void observe(long nanos, Map<AdapterKey, Integer> load, int total) {
        samples.addLast(new Sample(nanos, Map.copyOf(load), total));
        while (!samples.isEmpty() && samples.peekFirst().nanos() <= nanos - windowNanos) { // the window is (now − window, now]
            samples.removeFirst();
        }
    }

    /**
     * The decisions due at {@code nanos} (none until a whole window has passed since the last):
     * unmerge every {@code merged} adapter whose average fell below stayAt, merge the hottest other
     * adapter {@code canMerge} accepts whose average reached mergeAt.
     */
    public List<Decision> decide(long nanos, Set<AdapterKey> merged, Predicate<AdapterKey> canMerge) {
        if (nanos - lastDecision < windowNanos || samples.isEmpty()) {
            return List.of();
        }
        lastDecision = nanos;
        Map<AdapterKey, Double> average = averages();
        double total = samples.stream().mapToInt(Sample::total).average().orElse(0);
        List<Decision> out = new ArrayList<>();
        for (AdapterKey key : merged) {
            double a = average.getOrDefault(key, 0.0);
            if (a < stayAt || a < stayShare * total) {
                out.add(new Decision(Action.UNMERGE, key, a, Math.max(stayAt, stayShare * total)));
            }
        }
        average.entrySet().stream()
                .filter(e -> !merged.contains(e.getKey()) && e.getValue() >= mergeAt && e.getValue() >= mergeShare * total
                        && canMerge.test(e.getKey()))
                .max(Map.Entry.comparingByValue())
                .ifPresent(e -> out.add(new Decision(Action.MERGE, e.getKey(), e.getValue(), mergeAt)));
        return out;
    }

    private Map<AdapterKey, Double> averages() {
        Map<AdapterKey, Double> sums = new HashMap<>();
        for (Sample s : samples) {
            s.load().forEach((k, n) -> sums.merge(k, (double) n, Double::sum));
        }
        sums.replaceAll((k, sum) -> sum / samples.size());
        return sums;
    }
}
