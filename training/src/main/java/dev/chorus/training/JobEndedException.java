package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;

/** A job has ended (succeeded, failed or cancelled) or is past the point of no return: what was asked of it no longer applies. */
public class JobEndedException extends RuntimeException {
    private final transient TrainingJobEvent job;

    public JobEndedException(TrainingJobEvent job) {
        this(job, "job " + job.jobId() + " has already ended (" + job.state().name().toLowerCase(java.util.Locale.ROOT) + ")");
    }

    public JobEndedException(TrainingJobEvent job, String message) {
        super(message);
        this.job = job;
    }

    public TrainingJobEvent job() {
        return job;
    }
}
