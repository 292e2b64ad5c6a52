package dev.chorus.kafka;

import java.time.Instant;

/**
 * A fine-tuning job's state change, on {@code chorus.training-jobs} keyed by job id: queued,
 * running (with progress), succeeded (naming the adapter version it published), failed or
 * cancelled (with the reason).
 */
public record TrainingJobEvent(int schemaVersion, String jobId, String tenant, String adapter, State state, Integer fromVersion,
        Integer producedVersion, int step, int totalSteps, Double loss, String message, Instant at) {
    public static final int SCHEMA_VERSION = 1;

    public enum State { QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED }

    public TrainingJobEvent {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("unsupported schemaVersion " + schemaVersion + " (this build reads " + SCHEMA_VERSION + ")");
        }
        Names.require("jobId", jobId);
        Names.require("tenant", tenant);
        Names.require("adapter", adapter);
        Names.present("state", state);
        if (state == State.SUCCEEDED && producedVersion == null) {
            throw new IllegalArgumentException("a succeeded job names the version it produced");
        }
        if (step < 0 || totalSteps < 0 || step > totalSteps) {
            throw new IllegalArgumentException("need 0 <= step <= totalSteps");
        }
        Names.present("at", at);
    }
}
