package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The re-merger's bookkeeping with a scripted merge: one at a time per version, retries with doubling backoff, refusals stick. */
class RemergeQueueTest {
    static final RemergeQueue.Target V1 = new RemergeQueue.Target("acme", "sqft", 1);
    static final RemergeQueue.Target V2 = new RemergeQueue.Target("acme", "sqft", 2);

    final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    final ExecutorService workers = Executors.newFixedThreadPool(1);
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final TrainingMetrics metrics = new TrainingMetrics(meters);

    @AfterEach
    void stop() {
        timer.shutdownNow();
        workers.shutdownNow();
    }

    RemergeQueue queue(Function<RemergeQueue.Target, Optional<VersionMerge.Merged>> merge) {
        return new RemergeQueue(timer, workers, Duration.ofMillis(50), Duration.ofMillis(120), metrics, merge);
    }

    static VersionMerge.Merged merged() {
        return new VersionMerge.Merged("a".repeat(64), 10, 0.5);
    }

    @Test
    void aFailedMergeIsRetriedWithDoublingBackoffUntilItSucceeds() {
        List<Long> attempts = new CopyOnWriteArrayList<>();
        RemergeQueue q = queue(t -> {
            attempts.add(System.nanoTime());
            if (attempts.size() <= 3) {
                throw new RegistryException("the registry at http://registry cannot be reached: refused");
            }
            return Optional.of(merged());
        });
        q.offer(V1);
        q.offer(V1); // offered again while queued (a manifest change, the catch-up scan): still one merge
        await(() -> q.pending() == 0, 10_000);
        assertEquals(4, attempts.size());
        long[] gaps = {attempts.get(1) - attempts.get(0), attempts.get(2) - attempts.get(1), attempts.get(3) - attempts.get(2)};
        assertTrue(gaps[0] >= TimeUnit.MILLISECONDS.toNanos(50), "first retry after the backoff: " + gaps[0]);
        assertTrue(gaps[1] >= TimeUnit.MILLISECONDS.toNanos(100), "then twice that: " + gaps[1]);
        assertTrue(gaps[2] >= TimeUnit.MILLISECONDS.toNanos(120), "then capped: " + gaps[2]);
        assertEquals(3.0, meters.get("chorus.training.remerges").tag("outcome", "failed").counter().count());
        assertEquals(1.0, meters.get("chorus.training.remerges").tag("outcome", "merged").counter().count());
        assertEquals(1, meters.get("chorus.training.remerge").timer().count());
    }

    @Test
    void aRefusedVersionIsNotTriedAgainAndOthersGoOn() {
        AtomicInteger calls = new AtomicInteger();
        RemergeQueue q = queue(t -> {
            calls.incrementAndGet();
            if (t.equals(V1)) {
                throw new VersionMerge.Refused("base_mismatch", "made for another base");
            }
            return Optional.of(merged());
        });
        q.offer(V1);
        await(() -> q.refused().containsKey(V1), 10_000);
        q.offer(V1);
        q.offer(V2);
        await(() -> q.pending() == 0 && calls.get() == 2, 10_000);
        assertEquals(Map.of(V1, "base_mismatch"), q.refused());
        assertEquals(2, calls.get(), "V1 once, V2 once");
        assertEquals(1.0, meters.get("chorus.training.remerges").tag("outcome", "refused").tag("reason", "base_mismatch").counter().count());
    }

    @Test
    void nothingToDoAnyMoreCountsAsNoMerge() {
        AtomicInteger calls = new AtomicInteger();
        RemergeQueue q = queue(t -> {
            calls.incrementAndGet();
            return Optional.empty(); // merged meanwhile by another instance, or deleted
        });
        q.offer(V1);
        await(() -> calls.get() == 1 && q.pending() == 0, 10_000);
        q.offer(V1);
        await(() -> calls.get() == 2 && q.pending() == 0, 10_000);
        assertEquals(0.0, meters.get("chorus.training.remerges").tag("outcome", "merged").counter().count());
    }

    @Test
    void backoffDoublesUpToTheCap() {
        Duration first = Duration.ofSeconds(5);
        Duration max = Duration.ofMinutes(5);
        assertEquals(Duration.ofSeconds(5), RemergeQueue.backoff(first, max, 1));
        assertEquals(Duration.ofSeconds(40), RemergeQueue.backoff(first, max, 4));
        assertEquals(Duration.ofSeconds(160), RemergeQueue.backoff(first, max, 6));
        assertEquals(max, RemergeQueue.backoff(first, max, 7));
        assertEquals(max, RemergeQueue.backoff(first, max, 500));
    }

    private static void await(BooleanSupplier condition, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within " + millis + " ms");
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
