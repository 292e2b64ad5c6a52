package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import dev.chorus.kafka.TrainingJobEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Turns feedback into jobs: every interval it queues a job for each adapter whose new examples
 * made one due (and that has none queued or running), then starts what the fair queue allows on
 * the {@link JobRunner}. Without a runner, jobs stay queued. Also keeps each dataset's "trained
 * through" marker in step with the succeeded jobs, which is where it survives restarts. API jobs
 * join the same queue once their files are validated.
 */
@ApplicationScoped
public class Scheduler {
    private static final Logger LOG = Logger.getLogger(Scheduler.class);

    private final Datasets datasets;
    private final Jobs jobs;
    private final Instance<JobRunner> runner;
    private final Triggers triggers;
    private final FairQueue queue;
    private final Clock clock;
    private final TrainingConfig config;
    private final FileValidation validation;
    private ScheduledExecutorService timer;

    public Scheduler(Datasets datasets, Jobs jobs, Instance<JobRunner> runner, FileValidation validation, TrainingConfig config,
            Clock clock) {
        this.datasets = datasets;
        this.validation = validation;
        this.jobs = jobs;
        this.runner = runner;
        this.triggers = new Triggers(config.trigger());
        triggers.of(""); // the defaults: a bad configuration fails the start, not every tick
        config.trigger().tenants().keySet().forEach(triggers::of);
        this.queue = new FairQueue(config.concurrency());
        this.clock = clock;
        this.config = config;
    }

    void start(@Observes StartupEvent ignored) {
        if (config.runJob().isPresent()) {
            return; // a job pod runs its one job and schedules nothing
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "chorus-scheduler");
            t.setDaemon(true);
            return t;
        });
        long every = config.scheduleInterval().toMillis();
        timer.scheduleWithFixedDelay(this::tickSafely, every, every, TimeUnit.MILLISECONDS);
    }

    /** Runs a round now (a job was just queued), beside the regular ones. */
    public void nudge() {
        if (timer != null) {
            timer.execute(this::tickSafely);
        }
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    private void tickSafely() {
        try {
            if (datasets.ready() && jobs.ready()) {
                tick();
            }
        } catch (RuntimeException e) {
            LOG.warn("scheduling failed; trying again next interval", e); // a broker outage, mostly
        }
    }

    /** One round: queue what is due, start what may start. */
    void tick() {
        Instant now = clock.instant();
        jobs.sweepStale(now);
        // API jobs a restart left validating their files (each is validated right after its creation otherwise)
        jobs.inState(TrainingJobEvent.State.VALIDATING_FILES).forEach(j -> validation.validate(j.jobId()));
        for (Dataset d : datasets.all()) {
            if (TrainingExample.BASE.equals(d.adapter())) {
                continue; // feedback on the base model trains no adapter (yet)
            }
            Instant through = jobs.trainedThrough(d.tenant(), d.adapter()).orElse(null);
            d.trainedThrough(through);
            if (jobs.unfinished(d.tenant(), d.adapter()).isEmpty() && triggers.due(d.tenant(), d.examples(), through, now)) {
                TrainingJobEvent job = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), d.tenant(), d.adapter(), null, 1, now));
                LOG.infof("queued %s for %s/%s", job.jobId(), d.tenant(), d.adapter());
            }
        }
        if (runner.isResolvable()) {
            List<TrainingJobEvent> next = queue.next(jobs.inState(TrainingJobEvent.State.QUEUED), jobs.inState(TrainingJobEvent.State.RUNNING));
            next.forEach(runner.get()::start);
        }
    }
}
