package dev.chorus.kafka;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuning job's state, on the compacted {@code chorus.training-jobs} keyed by job id, so the
 * latest record of every job is its state: validating its files (API jobs), queued, running (step,
 * loss, the instance that runs it), succeeded (the version it published, whether the gate promoted
 * it, its eval metrics and the newest example it trained on), failed (error code, message and the
 * request parameter at fault) or cancelled. The record carries the job's event log too, so the log
 * is exactly as durable as the state (compaction keeps the latest record, which holds all of it).
 *
 * <p>Schema 2 added createdAt, errorCode, promoted, metrics, trainedTokens, trainedThrough, attempt
 * and runner; schema 3 added request, errorParam and events. An older record reads with the newer
 * fields absent (createdAt = at, attempt 1, no request: a feedback job, an empty log).
 */
public record TrainingJobEvent(int schemaVersion, String jobId, String tenant, String adapter, State state, Integer fromVersion,
        Integer producedVersion, int step, int totalSteps, Double loss, String message, Instant at, Instant createdAt, String errorCode,
        Boolean promoted, Map<String, Double> metrics, Long trainedTokens, Instant trainedThrough, Integer attempt, String runner,
        JobRequest request, String errorParam, List<JobLogEvent> events) {
    public static final int SCHEMA_VERSION = 3;
    /** A log longer than this drops its oldest metrics entries (messages stay): a record stays well under Kafka's message limit. */
    public static final int MAX_EVENTS = 500;

    public enum State {
        VALIDATING_FILES, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

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
        events = events == null ? List.of() : List.copyOf(events);
    }

    /** A new job waiting for a runner; {@code fromVersion} is the adapter's active version (null: it has none yet). */
    public static TrainingJobEvent queued(String jobId, String tenant, String adapter, Integer fromVersion, int attempt, Instant at) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.QUEUED, fromVersion, null, 0, 0, null, null, at, at, null,
                false, Map.of(), null, null, attempt, null, null, null, List.of())
                .logged(JobLogEvent.Level.INFO, "Fine-tuning job queued" + (attempt > 1 ? " (attempt " + attempt + ")" : ""), at);
    }

    /** A job the API created: its files are checked before it is queued. */
    public static TrainingJobEvent validating(String jobId, String tenant, String adapter, Integer fromVersion, JobRequest request,
            Instant at) {
        String files = "training file " + request.trainingFile()
                + (request.validationFile() == null ? "" : " and validation file " + request.validationFile());
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, State.VALIDATING_FILES, fromVersion, null, 0, 0, null, null, at,
                at, null, false, Map.of(), null, null, 1, null, request, null, List.of())
                .logged(JobLogEvent.Level.INFO, "Validating " + files, at);
    }

    /** Its files passed: waiting for a runner. */
    public TrainingJobEvent validated(Instant now) {
        return to(State.QUEUED, null, 0, 0, null, null, now, null, null, false, metrics, null, runner)
                .logged(JobLogEvent.Level.INFO, "Files validated, moving job to queued state", now);
    }

    /** A fresh attempt of this job under {@code newJobId}, with the same request. */
    public TrainingJobEvent retried(String newJobId, Instant now) {
        TrainingJobEvent again = queued(newJobId, tenant, adapter, fromVersion, attempt + 1, now);
        return new TrainingJobEvent(SCHEMA_VERSION, newJobId, tenant, adapter, State.QUEUED, fromVersion, null, 0, 0, null, null, now, now,
                null, false, Map.of(), null, null, attempt + 1, null, request, null, again.events);
    }

    /** This job running on {@code runner}, at {@code step} of {@code totalSteps}. */
    public TrainingJobEvent running(String runner, int step, int totalSteps, Double loss, Instant now) {
        TrainingJobEvent next = to(State.RUNNING, null, step, totalSteps, loss, null, now, null, null, false, metrics, null, runner);
        return state == State.RUNNING ? next : next.logged(JobLogEvent.Level.INFO, "Fine-tuning job started", now);
    }

    /** This job, continuing {@code version} of its adapter (null: it creates the adapter's first version). */
    public TrainingJobEvent continuing(Integer version) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, state, version, producedVersion, step, totalSteps, loss, message,
                at, createdAt, errorCode, promoted, metrics, trainedTokens, trainedThrough, attempt, runner, request, errorParam, events);
    }

    /** This job done: it published {@code version}, promoted or not, having trained on examples created up to {@code trainedThrough}. */
    public TrainingJobEvent succeeded(int version, boolean promoted, Map<String, Double> metrics, Long trainedTokens,
            Instant trainedThrough, Instant now) {
        return to(State.SUCCEEDED, version, totalSteps, totalSteps, loss, null, now, null, null, promoted, metrics, trainedTokens, runner)
                .withTrainedThrough(trainedThrough)
                .logged(JobLogEvent.Level.INFO, "New fine-tuned model created: " + adapter + "@" + version
                        + (promoted ? " (promoted: it is the active version)" : ""), now)
                .logged(JobLogEvent.Level.INFO, "The job has successfully completed", now);
    }

    public TrainingJobEvent failed(String code, String message, Instant now) {
        return failed(code, message, null, now);
    }

    /** Failed because of {@code param} of the request (a file's content, say); null when no parameter is at fault. */
    public TrainingJobEvent failed(String code, String message, String param, Instant now) {
        return to(State.FAILED, null, step, totalSteps, loss, message, now, code, param, false, metrics, trainedTokens, runner)
                .logged(JobLogEvent.Level.ERROR, "Job failed: " + message, now);
    }

    public TrainingJobEvent cancelled(String message, Instant now) {
        return to(State.CANCELLED, null, step, totalSteps, loss, message, now, null, null, false, metrics, trainedTokens, runner)
                .logged(JobLogEvent.Level.INFO, "Job cancelled" + (message == null ? "" : ": " + message), now);
    }

    /** This job with one more message in its log. */
    public TrainingJobEvent logged(JobLogEvent.Level level, String text, Instant now) {
        return log(new JobLogEvent(nextEventId(), now, level, JobLogEvent.Type.MESSAGE, text, Map.of()));
    }

    /** This job with one more metrics entry (step, train_loss, valid_loss, ...) in its log. */
    public TrainingJobEvent measured(String text, Map<String, Double> data, Instant now) {
        return log(new JobLogEvent(nextEventId(), now, JobLogEvent.Level.INFO, JobLogEvent.Type.METRICS, text, data));
    }

    private TrainingJobEvent log(JobLogEvent event) {
        List<JobLogEvent> longer = new ArrayList<>(events);
        longer.add(event);
        while (longer.size() > MAX_EVENTS) {
            int oldestMetrics = -1;
            for (int i = 0; i < longer.size() && oldestMetrics < 0; i++) {
                oldestMetrics = longer.get(i).type() == JobLogEvent.Type.METRICS ? i : -1;
            }
            longer.remove(Math.max(0, oldestMetrics));
        }
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, state, fromVersion, producedVersion, step, totalSteps, loss,
                message, at, createdAt, errorCode, promoted, metrics, trainedTokens, trainedThrough, attempt, runner, request, errorParam,
                longer);
    }

    /** ftevent-&lt;job's hex&gt;-&lt;n&gt;, n one more than the last entry's. */
    private String nextEventId() {
        int n = 1;
        if (!events.isEmpty()) {
            String last = events.get(events.size() - 1).id();
            n = Integer.parseInt(last.substring(last.lastIndexOf('-') + 1)) + 1;
        }
        return "ftevent-" + jobId.substring(jobId.indexOf('-') + 1) + "-" + n;
    }

    private TrainingJobEvent withTrainedThrough(Instant through) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, state, fromVersion, producedVersion, step, totalSteps, loss,
                message, at, createdAt, errorCode, promoted, metrics, trainedTokens, through, attempt, runner, request, errorParam, events);
    }

    private TrainingJobEvent to(State next, Integer produced, int nextStep, int total, Double lastLoss, String text, Instant now, String code,
            String param, boolean isPromoted, Map<String, Double> nextMetrics, Long tokens, String by) {
        return new TrainingJobEvent(SCHEMA_VERSION, jobId, tenant, adapter, next, fromVersion, produced, nextStep, total, lastLoss, text, now,
                createdAt, code, isPromoted, nextMetrics, tokens, null, attempt, by, request, param, events);
    }

    /** Whether the API created this job (feedback jobs have no request). */
    public boolean fromApi() {
        return request != null;
    }

    /** tenant/adapter, the unit of "one job at a time". */
    public String adapterKey() {
        return tenant + "/" + adapter;
    }
}
