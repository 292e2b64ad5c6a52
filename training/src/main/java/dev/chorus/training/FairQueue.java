package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which queued jobs start next: never a second job of an adapter that has one running, never more
 * than {@code concurrency} running in all, and tenants served in turn (round robin by name, from
 * the one after the tenant served last), each tenant's oldest job first, so a tenant with many
 * adapters cannot starve one with a single adapter. Remembers only whom it served last.
 */
final class FairQueue {
    private final int concurrency;
    private String servedLast; // null: nobody yet

    FairQueue(int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1");
        }
        this.concurrency = concurrency;
    }

    /** The jobs to start now, in order; {@code queued} oldest first. */
    synchronized List<TrainingJobEvent> next(List<TrainingJobEvent> queued, List<TrainingJobEvent> running) {
        Set<String> busy = new HashSet<>();
        running.forEach(j -> busy.add(j.adapterKey()));
        List<TrainingJobEvent> waiting = new ArrayList<>(queued.stream().filter(j -> !busy.contains(j.adapterKey())).toList());
        List<TrainingJobEvent> start = new ArrayList<>();
        int free = concurrency - running.size();
        while (free > 0 && !waiting.isEmpty()) {
            TreeSet<String> tenants = new TreeSet<>();
            waiting.forEach(j -> tenants.add(j.tenant()));
            String tenant = servedLast == null ? null : tenants.higher(servedLast);
            if (tenant == null) {
                tenant = tenants.first(); // wrap around
            }
            String chosen = tenant;
            TrainingJobEvent job = waiting.stream().filter(j -> j.tenant().equals(chosen)).findFirst().orElseThrow();
            start.add(job);
            servedLast = tenant;
            free--;
            waiting.removeIf(j -> j.adapterKey().equals(job.adapterKey()));
        }
        return start;
    }
}
