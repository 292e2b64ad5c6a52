package dev.chorus.kafka;

import java.time.Instant;
import java.util.Map;

/**
 * A fine-tuning job's state, on the compacted {@code chorus.training-jobs} keyed by job id, so the
 * latest record of every job is its state: queued, running (step, loss, the instance that runs it),
 * succeeded (the version it published, whether the gate promoted it, its eval metrics and the
 * newest example it trained on), failed (error code and message) or cancelled.
 *
 * <p>Schema 2 added createdAt, errorCode, promoted, metrics, trainedTokens, trainedThrough, attempt
 * and runner; a schema-1 record reads with them absent (createdAt = at, attempt 1).
 */
public record TrainingJobEvent(int schemaVersion, String jobId, String tenant, String adapter, State state, Integer fromVersion,
        Integer producedVersion, int step, int totalSteps, Double loss, String message, Instant at, Instant createdAt, String errorCode,
        Boolean promoted, Map<String, Double> metrics, Long trainedTokens, Instant trainedThrough, Integer attempt, String runner) {
    public static final int SCHEMA_VERSION = 2;

    public enum State {
        QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

        public boolean finished() {
            return this == SUCCEEDED || this == FAILED || this == CANCELLED;
        }
    }

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
        createdAt = createdAt == null ? at : createdAt;
        promoted = promoted != null && promoted;
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
        attempt = attempt == null ? 1 : attempt;
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt counts from 1");
        }
    }

    /** A new job waiting for a runner; {@code fromVersion} is the adapter's active version (null: it has none yet). */
    public static TrainingJobEvent queued(String jobId, String tenant, String adapter, Integer fromVersion, int attempt, Instant at) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.QUEUED, fromVersion, null, 0, 0, null, null, at, at, null,
                false, Map.of(), null, null, attempt, null);
    }

    /** This job running on {@code runner}, at {@code step} of {@code totalSteps}. */
    public TrainingJobEvent running(String runner, int step, int totalSteps, Double loss, Instant now) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.RUNNING, fromVersion, null, step, totalSteps, loss, null,
                now, createdAt, null, false, metrics, trainedTokens, null, attempt, runner);
    }

    /** This job, continuing {@code version} of its adapter (null: it creates the adapter's first version). */
    public TrainingJobEvent continuing(Integer version) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, state, version, producedVersion, step, totalSteps, loss, message,
                at, createdAt, errorCode, promoted, metrics, trainedTokens, trainedThrough, attempt, runner);
    }

    /** This job done: it published {@code version}, promoted or not, having trained on examples created up to {@code trainedThrough}. */
    public TrainingJobEvent succeeded(int version, boolean promoted, Map<String, Double> metrics, Long trainedTokens,
            Instant trainedThrough, Instant now) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.SUCCEEDED, fromVersion, version, totalSteps, totalSteps,
                loss, null, now, createdAt, null, promoted, metrics, trainedTokens, trainedThrough, attempt, runner);
    }

    public TrainingJobEvent failed(String code, String message, Instant now) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.FAILED, fromVersion, null, step, totalSteps, loss,
                message, now, createdAt, code, false, metrics, trainedTokens, null, attempt, runner);
    }

    public TrainingJobEvent cancelled(String message, Instant now) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.CANCELLED, fromVersion, null, step, totalSteps, loss,
                message, now, createdAt, null, false, metrics, trainedTokens, null, attempt, runner);
    }

    /** tenant/adapter, the unit of "one job at a time". */
    public String adapterKey() {
        return tenant + "/" + adapter;
    }
}
