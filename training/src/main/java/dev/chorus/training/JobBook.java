package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The latest state of every job, as the jobs topic orders them. A record applies only if it is
 * newer (by offset, the topic has one partition) than what the book holds for that job, so a state
 * this instance published and applied at once is never overwritten by an older record its tail
 * reads later. Thread-safe; no I/O.
 */
final class JobBook {
    /** Newest first; the list order of the API. */
    static final Comparator<TrainingJobEvent> NEWEST_FIRST = Comparator.comparing(TrainingJobEvent::createdAt)
            .thenComparing(TrainingJobEvent::jobId).reversed();

    private record Entry(TrainingJobEvent job, long offset) {
    }

    private final Map<String, Entry> byId = new HashMap<>();

    /**
     * Applies the job's state at {@code offset}; false if the book already has that or a later one,
     * or the job has ended: the first end recorded is the job's end (a runner's progress that
     * crossed a cancel on the topic does not bring the job back).
     */
    synchronized boolean apply(TrainingJobEvent job, long offset) {
        Entry held = byId.get(job.jobId());
        if (held != null && (held.offset() >= offset || held.job().state().finished())) {
            return false;
        }
        byId.put(job.jobId(), new Entry(job, offset));
        return true;
    }

    /** A tombstone: the job is gone. */
    synchronized void remove(String jobId, long offset) {
        Entry held = byId.get(jobId);
        if (held == null || held.offset() < offset) {
            byId.remove(jobId);
        }
    }

    synchronized Optional<TrainingJobEvent> get(String jobId) {
        return Optional.ofNullable(byId.get(jobId)).map(Entry::job);
    }

    /** The jobs whose tenant {@code visible} accepts, newest first. */
    synchronized List<TrainingJobEvent> list(Predicate<String> visible) {
        List<TrainingJobEvent> jobs = new ArrayList<>();
        for (Entry e : byId.values()) {
            if (visible.test(e.job().tenant())) {
                jobs.add(e.job());
            }
        }
        jobs.sort(NEWEST_FIRST);
        return jobs;
    }

    /** The adapter's queued or running job, if any (there is at most one). */
    synchronized Optional<TrainingJobEvent> unfinished(String tenant, String adapter) {
        return byId.values().stream().map(Entry::job)
                .filter(j -> !j.state().finished() && j.tenant().equals(tenant) && j.adapter().equals(adapter))
                .min(Comparator.comparing(TrainingJobEvent::createdAt));
    }

    /**
     * The creation time of the newest example a succeeded job of the adapter trained on: examples
     * created after it are new. Derived from the jobs, so it survives restarts with them.
     */
    synchronized Optional<Instant> trainedThrough(String tenant, String adapter) {
        return byId.values().stream().map(Entry::job)
                .filter(j -> j.state() == TrainingJobEvent.State.SUCCEEDED && j.trainedThrough() != null
                        && j.tenant().equals(tenant) && j.adapter().equals(adapter))
                .map(TrainingJobEvent::trainedThrough)
                .max(Comparator.naturalOrder());
    }

    /** Jobs in state {@code state}, oldest first (the queue's order). */
    synchronized List<TrainingJobEvent> inState(TrainingJobEvent.State state) {
        return byId.values().stream().map(Entry::job).filter(j -> j.state() == state)
                .sorted(NEWEST_FIRST.reversed()).toList();
    }

    /** Jobs recorded as running on {@code runner}: after that runner restarted, nobody runs them. */
    synchronized List<TrainingJobEvent> runningOn(String runner) {
        return inState(TrainingJobEvent.State.RUNNING).stream().filter(j -> runner.equals(j.runner())).toList();
    }
}
