package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The job pods' mode (chorus.training.run-job): once the jobs and examples are read, runs that one job,
 * which must be running under a Kubernetes runner, records its end and exits: 0 when it succeeded, 1
 * when it failed, 2 when there was nothing to run. Feedback is not taken (chorus.training.take-feedback
 * is false in job pods) and nothing is scheduled.
 */
@ApplicationScoped
public class JobMode {
    private static final Logger LOG = Logger.getLogger(JobMode.class);
    static final int SUCCEEDED = 0;
    static final int FAILED = 1;
    static final int NOTHING_TO_RUN = 2;

    private final TrainingConfig config;
    private final Jobs jobs;
    private final Datasets datasets;
    private final JobExecution execution;

    public JobMode(TrainingConfig config, Jobs jobs, Datasets datasets, JobExecution execution) {
        this.config = config;
        this.jobs = jobs;
        this.datasets = datasets;
        this.execution = execution;
    }

    void start(@Observes StartupEvent ignored) {
        config.runJob().ifPresent(jobId -> {
            Thread t = new Thread(() -> Quarkus.asyncExit(run(jobId)), "chorus-job-mode");
            t.setDaemon(true);
            t.start();
        });
    }

    /** Runs the job and returns the process' exit code. */
    int run(String jobId) {
        if (!caughtUp(config.catchUpTimeout().multipliedBy(2))) {
            LOG.errorf("job mode: the jobs and examples topics were not read within %s; not running %s", config.catchUpTimeout().multipliedBy(2), jobId);
            return FAILED; // the runner sees the pod fail and records it
        }
        Optional<TrainingJobEvent> job = jobs.get(jobId);
        if (job.isEmpty() || job.get().state() != TrainingJobEvent.State.RUNNING
                || job.get().runner() == null || !job.get().runner().startsWith(KubernetesRunner.RUNNER_PREFIX)) {
            LOG.errorf("job mode: %s is %s, not a job a Kubernetes runner started; nothing to run", jobId,
                    job.map(j -> j.state() + " on " + j.runner()).orElse("unknown"));
            return NOTHING_TO_RUN;
        }
        TrainingJobEvent end = execution.run(job.get());
        return end.state() == TrainingJobEvent.State.SUCCEEDED ? SUCCEEDED : FAILED;
    }

    private boolean caughtUp(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!(jobs.ready() && datasets.ready())) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
