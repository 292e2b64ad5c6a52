package dev.chorus.training;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Which versions wait for a merge, and when each runs: a version is at most once queued, running or
 * waiting for its retry; a failed merge is retried after a backoff that doubles per failure up to a
 * cap; a refused one ({@link VersionMerge.Refused}) is not tried again while this process lives.
 * Merges run on the given workers, so their number bounds how many run at once.
 */
final class RemergeQueue {
    private static final Logger LOG = Logger.getLogger(RemergeQueue.class);

    /** One version of one adapter. */
    record Target(String tenant, String adapter, int version) {
        @Override
        public String toString() {
            return tenant + "/" + adapter + "@" + version;
        }
    }

    private final ScheduledExecutorService timer;
    private final ExecutorService workers;
    private final Duration backoff;
    private final Duration maxBackoff;
    private final TrainingMetrics metrics;
    private final Function<Target, Optional<VersionMerge.Merged>> merge; // empty: nothing to do any more
    private final Map<Target, Integer> scheduled = new ConcurrentHashMap<>(); // with its failures so far
    private final Map<Target, String> refused = new ConcurrentHashMap<>(); // and why

    RemergeQueue(ScheduledExecutorService timer, ExecutorService workers, Duration backoff, Duration maxBackoff, TrainingMetrics metrics,
            Function<Target, Optional<VersionMerge.Merged>> merge) {
        this.timer = timer;
        this.workers = workers;
        this.backoff = backoff;
        this.maxBackoff = maxBackoff;
        this.metrics = metrics;
        this.merge = merge;
    }

    /** Queues {@code t} unless it is queued, running, waiting for a retry or refused. */
    void offer(Target t) {
        if (!refused.containsKey(t) && scheduled.putIfAbsent(t, 0) == null) {
            submit(t, 0);
        }
    }

    /** Versions queued, merging or waiting for a retry. */
    int pending() {
        return scheduled.size();
    }

    /** Versions refused for good, with the reason. */
    Map<Target, String> refused() {
        return Map.copyOf(refused);
    }

    private void submit(Target t, long delayMillis) {
        try {
            timer.schedule(() -> workers.execute(() -> run(t)), delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            scheduled.remove(t); // shutting down: the manifests still say it is unmerged
        }
    }

    private void run(Target t) {
        try {
            Optional<VersionMerge.Merged> merged = merge.apply(t);
            scheduled.remove(t);
            merged.ifPresent(m -> {
                metrics.remerged(m.seconds());
                LOG.infof("merged %s into the base in %.2f s: %d bytes, blob %s", t, m.seconds(), m.sizeBytes(), m.sha256());
            });
        } catch (VersionMerge.Refused e) {
            refused.put(t, e.reason);
            scheduled.remove(t);
            metrics.remergeRefused(e.reason);
            LOG.errorf("not merging %s (%s): %s", t, e.reason, e.getMessage());
        } catch (RuntimeException e) {
            int failures = scheduled.merge(t, 1, Integer::sum);
            Duration wait = backoff(backoff, maxBackoff, failures);
            metrics.remergeFailed();
            LOG.warnf("merging %s failed (%d times so far), retrying in %s: %s", t, failures, wait, e.getMessage());
            submit(t, wait.toMillis());
        }
    }

    /** first · 2^(failures−1), at most {@code max}. */
    static Duration backoff(Duration first, Duration max, int failures) {
        Duration d = first.multipliedBy(1L << Math.min(failures - 1, 20));
        return d.compareTo(max) > 0 ? max : d;
    }
}
