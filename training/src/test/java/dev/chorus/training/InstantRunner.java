package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import dev.chorus.kafka.TrainingJobEvent;
import io.quarkus.arc.lookup.LookupIfProperty;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A runner for the scheduler's tests: "trains" on the fresh examples at once and succeeds with version 2. */
@ApplicationScoped
@LookupIfProperty(name = "chorus.test.instant-runner", stringValue = "true")
public class InstantRunner implements JobRunner {
    private final List<String> started = new CopyOnWriteArrayList<>();
    private final Jobs jobs;
    private final Datasets datasets;

    public InstantRunner(Jobs jobs, Datasets datasets) {
        this.jobs = jobs;
        this.datasets = datasets;
    }

    /** The jobs started here (a method: the test holds a client proxy, whose fields are not the bean's). */
    List<String> started() {
        return started;
    }

    @Override
    public void start(TrainingJobEvent queued) {
        started.add(queued.jobId());
        Instant through = jobs.trainedThrough(queued.tenant(), queued.adapter()).orElse(null);
        List<TrainingExample> fresh = Triggers.fresh(datasets.of(queued.tenant(), queued.adapter()).orElseThrow().examples(), through);
        Instant newest = fresh.stream().map(TrainingExample::createdAt).max(Instant::compareTo).orElseThrow();
        TrainingJobEvent running = jobs.publish(queued.running(jobs.instanceId(), 0, fresh.size(), null, Instant.now()));
        jobs.publish(running.succeeded(2, true, Map.of(), null, newest, Instant.now()));
    }
}
