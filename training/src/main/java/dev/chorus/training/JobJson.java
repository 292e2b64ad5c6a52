package dev.chorus.training;

import dev.chorus.kafka.JobLogEvent;
import dev.chorus.kafka.JobRequest;
import dev.chorus.kafka.TrainingJobEvent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * OpenAI's shapes of a job ({@code fine_tuning.job}), its log entries ({@code fine_tuning.job.event})
 * and its checkpoints ({@code fine_tuning.job.checkpoint}); Chorus' own fields under {@code chorus}.
 * A job's checkpoint is the version it published: {@code adapter@version}, servable at once.
 */
final class JobJson {
    private final TrainingConfig.Job defaults;

    JobJson(TrainingConfig.Job defaults) {
        this.defaults = defaults;
    }

    JsonObject job(TrainingJobEvent j) {
        JobRequest r = j.request();
        boolean produced = j.producedVersion() != null;
        JsonObject chorus = new JsonObject().put("tenant", j.tenant()).put("adapter", j.adapter())
                .put("from_version", j.fromVersion()).put("produced_version", j.producedVersion()).put("promoted", j.promoted())
                .put("step", j.step()).put("total_steps", j.totalSteps()).put("loss", j.loss()).put("attempt", j.attempt())
                .put("metrics", new JsonObject(new TreeMap<String, Object>(j.metrics())))
                .put("trained_through", j.trainedThrough() == null ? null : j.trainedThrough().toString())
                .put("updated_at", seconds(j.at())).put("skip_gate", r != null && r.skipGate());
        JsonObject error = null;
        if (j.state() == TrainingJobEvent.State.FAILED) {
            error = new JsonObject().put("code", j.errorCode() == null ? "failed" : j.errorCode()).put("message", j.message())
                    .put("param", j.errorParam());
        }
        String method = r != null && r.method() == JobRequest.Method.DPO ? "dpo" : "supervised";
        JsonObject hyper = new JsonObject()
                .put("n_epochs", r != null && r.epochs() != null ? r.epochs() : defaults.epochs())
                .put("batch_size", r != null && r.batchSize() != null ? r.batchSize() : defaults.batchSize())
                .put("learning_rate_multiplier", r != null && r.learningRateMultiplier() != null ? r.learningRateMultiplier() : 1.0);
        JsonObject methodHyper = hyper.copy();
        if (method.equals("dpo")) {
            methodHyper.put("beta", r.beta() != null ? r.beta() : defaults.dpoBeta());
        }
        String model = r != null ? r.model() : j.fromVersion() == null ? j.adapter() : j.adapter() + "@" + j.fromVersion();
        JsonObject metadata = r != null ? new JsonObject(new TreeMap<String, Object>(r.metadata())) : new JsonObject().put("trigger", "feedback");
        return new JsonObject()
                .put("object", "fine_tuning.job")
                .put("id", j.jobId())
                .put("model", model)
                .put("organization_id", j.tenant())
                .put("status", j.state().name().toLowerCase(Locale.ROOT))
                .put("created_at", seconds(j.createdAt()))
                .put("finished_at", j.state().finished() ? seconds(j.at()) : null)
                .put("estimated_finish", null)
                .put("fine_tuned_model", produced ? j.adapter() + "@" + j.producedVersion() : null)
                .put("error", error)
                .put("training_file", r == null ? null : r.trainingFile())
                .put("validation_file", r == null ? null : r.validationFile())
                .put("result_files", new JsonArray())
                .put("trained_tokens", j.trainedTokens())
                .put("seed", r != null && r.seed() != null ? r.seed() : (long) j.jobId().hashCode())
                .put("hyperparameters", hyper)
                .put("method", new JsonObject().put("type", method).put(method, new JsonObject().put("hyperparameters", methodHyper)))
                .put("integrations", new JsonArray())
                .put("user_provided_suffix", r == null ? null : r.suffix())
                .put("metadata", metadata)
                .put("chorus", chorus);
    }

    static JsonObject event(JobLogEvent e) {
        return new JsonObject().put("object", "fine_tuning.job.event").put("id", e.id()).put("created_at", seconds(e.at()))
                .put("level", e.level().name().toLowerCase(Locale.ROOT)).put("message", e.message())
                .put("type", e.type().name().toLowerCase(Locale.ROOT)).put("data", numbers(e.data()));
    }

    /** The version a succeeded job published, with the metrics of its last step; none for other jobs. */
    static List<JsonObject> checkpoints(TrainingJobEvent j) {
        if (j.producedVersion() == null) {
            return List.of();
        }
        JsonObject metrics = new JsonObject().put("step", (double) j.totalSteps());
        for (JobLogEvent e : j.events()) { // the last logged value of each wins
            if (e.type() == JobLogEvent.Type.METRICS) {
                e.data().forEach((k, v) -> {
                    if (k.equals("train_loss") || k.equals("valid_loss")) {
                        metrics.put(k, v);
                    }
                });
            }
        }
        Double full = j.metrics().get("held_out_loss");
        if (full != null) {
            metrics.put("full_valid_loss", full);
        }
        return List.of(new JsonObject().put("object", "fine_tuning.job.checkpoint")
                .put("id", "ftckpt-" + j.jobId().substring(j.jobId().indexOf('-') + 1) + "-" + j.producedVersion())
                .put("created_at", seconds(j.at()))
                .put("fine_tuned_model_checkpoint", j.adapter() + "@" + j.producedVersion())
                .put("fine_tuning_job_id", j.jobId())
                .put("step_number", j.totalSteps())
                .put("metrics", metrics));
    }

    private static JsonObject numbers(Map<String, Double> data) {
        JsonObject o = new JsonObject();
        new TreeMap<>(data).forEach((k, v) -> o.put(k, k.equals("step") || k.equals("total_steps") ? (Object) v.intValue() : v));
        return o;
    }

    private static long seconds(Instant at) {
        return at.getEpochSecond();
    }
}
