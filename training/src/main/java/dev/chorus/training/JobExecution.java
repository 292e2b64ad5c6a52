package dev.chorus.training;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.kafka.TrainingJobEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Runs one job on the calling thread and records how it ended, whoever asked (the in-process runner,
 * or a job pod in job mode), on the shared {@link BaseModel}. A job's failure is
 * recorded with its reason; recording it is retried until the jobs topic takes it, so no job stays
 * "running" while this process lives (and a restart marks it interrupted).
 */
@ApplicationScoped
public class JobExecution {
    private static final Logger LOG = Logger.getLogger(JobExecution.class);

    private final TrainingConfig config;
    private final Jobs jobs;
    private final Datasets datasets;
    private final FileStore files;
    private final Path workRoot;
    private final Clock clock;
    private final BaseModel base;

    public JobExecution(TrainingConfig config, Jobs jobs, Datasets datasets, FileStore files, DataDirectory data, Clock clock, BaseModel base) {
        this.config = config;
        this.base = base;
        this.jobs = jobs;
        this.datasets = datasets;
        this.files = files;
        this.workRoot = data.root().resolve("jobs");
        this.clock = clock;
    }

    /** Trains, judges and publishes {@code running}; returns the end state it recorded. */
    public TrainingJobEvent run(TrainingJobEvent running) {
        long start = System.nanoTime();
        TrainingJobEvent end;
        try {
            end = record(new FineTuneJob(context(), running).run());
        } catch (JobEndedException e) {
            end = e.job(); // cancelled while it ran: it stopped, published nothing, and its record says so already
            LOG.info(e.getMessage());
        } catch (JobFailure e) {
            end = record(running.failed(e.code(), e.getMessage(), e.param(), clock.instant()));
        } catch (RegistryException e) {
            end = record(running.failed("registry_unavailable", e.getMessage(), clock.instant()));
        } catch (AdapterFormatException e) {
            end = record(running.failed("invalid_adapter", "the active version cannot be trained further: " + e.getMessage(), clock.instant()));
        } catch (JobsUnavailableException e) {
            end = record(running.failed("jobs_unavailable", e.getMessage(), clock.instant()));
        } catch (EngineException | IllegalArgumentException e) {
            end = record(running.failed("training_failed", e.getMessage(), clock.instant()));
        } catch (RuntimeException e) {
            LOG.errorf(e, "job %s failed unexpectedly", running.jobId());
            end = record(running.failed("internal_error", "the job failed unexpectedly: " + e, clock.instant()));
        } finally {
            deleteQuietly(workRoot.resolve(running.jobId()));
        }
        LOG.infof("%s of %s ended %s in %.1f s%s", end.jobId(), end.adapterKey(), end.state(), (System.nanoTime() - start) / 1e9,
                end.state() == TrainingJobEvent.State.SUCCEEDED ? ": version " + end.producedVersion() + (end.promoted() ? " promoted" : " not promoted")
                        : ": " + end.message());
        return end;
    }

    private synchronized FineTuneJob.Context context() {
        String key = config.registry().apiKey()
                .orElseThrow(() -> new JobFailure("registry_unavailable", "no registry key configured (chorus.training.registry.api-key)"));
        RegistryClient registry = new RegistryClient(URI.create(config.registry().url()), key, config.registry().timeout());
        return new FineTuneJob.Context(base.get(), registry, datasets, files, jobs, new Gate(config.gateTolerance()), config, workRoot, clock);
    }

    /** Publishes a final state, retrying while the jobs topic is unreachable (the job's outcome must not be lost). */
    private TrainingJobEvent record(TrainingJobEvent end) {
        for (long wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
            try {
                return jobs.publish(end);
            } catch (JobEndedException e) {
                return e.job(); // it had ended otherwise meanwhile (cancelled): the first end stands
            } catch (JobsUnavailableException e) {
                LOG.warnf("cannot record the end of %s yet (%s); retrying", end.jobId(), e.getMessage());
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return end; // shutting down: the restart marks it interrupted
                }
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            LOG.warnf("cannot remove %s: %s", dir, e.getMessage());
        }
    }
}
