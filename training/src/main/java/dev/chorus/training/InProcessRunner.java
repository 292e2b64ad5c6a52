package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import io.quarkus.arc.lookup.LookupIfProperty;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Runs jobs in this process, on as many threads as jobs may run at once (the scheduler's fair
 * queue never starts more); {@link JobExecution} runs each and records its end.
 */
@ApplicationScoped
@LookupIfProperty(name = "chorus.training.runner", stringValue = "in-process", lookupIfMissing = true)
public class InProcessRunner implements JobRunner {
    private static final Logger LOG = Logger.getLogger(InProcessRunner.class);

    private final Jobs jobs;
    private final JobExecution execution;
    private final Clock clock;
    private final ExecutorService threads;

    public InProcessRunner(TrainingConfig config, Jobs jobs, JobExecution execution, Clock clock) {
        this.jobs = jobs;
        this.execution = execution;
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(config.concurrency(), r -> {
            Thread t = new Thread(r, "chorus-job-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        if (config.registry().apiKey().isEmpty()) {
            LOG.warn("chorus.training.registry.api-key is not set: jobs cannot read or publish adapters and will fail");
        }
    }

    @Override
    public void start(TrainingJobEvent queued) {
        TrainingJobEvent running;
        try {
            running = jobs.publish(queued.running(jobs.instanceId(), 0, 0, null, clock.instant()));
        } catch (JobEndedException e) {
            LOG.infof("%s was %s before it could start", queued.jobId(), e.job().state());
            return;
        }
        LOG.infof("running %s for %s", running.jobId(), running.adapterKey());
        threads.execute(() -> execution.run(running));
    }

    @PreDestroy
    void stop() {
        threads.shutdownNow();
    }
}
