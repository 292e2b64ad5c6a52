package dev.chorus.training;

import dev.chorus.edge.http.ApiException;
import dev.chorus.kafka.JobRequest;
import dev.chorus.kafka.Names;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads OpenAI's create-job body into a {@link JobRequest} and the adapter the job trains, or a 400
 * naming the parameter at fault: {@code model} (the base's id, or the caller's {@code adapter} or
 * {@code adapter@version}), {@code training_file} and {@code validation_file} (the caller's files;
 * anyone else's is the same 404 as a missing one), {@code suffix} (the adapter's name), {@code seed},
 * {@code metadata} (OpenAI's limits), {@code method} with its hyperparameters ("auto" or a value), the
 * legacy top-level {@code hyperparameters}, and Chorus' extension {@code chorus.skip_gate}.
 */
final class JobRequests {
    static final int MAX_METADATA = 16;
    static final int MAX_KEY = 64;
    static final int MAX_VALUE = 512;
    static final int MAX_SUFFIX = 64;
    private static final Pattern ADAPTER = Pattern.compile("([^/@]+)(?:@([1-9][0-9]{0,8}))?");

    /** A job to create: the adapter it trains, the adapter and version it starts from (null: the base / the active version). */
    record NewJob(String adapter, Integer fromVersion, JobRequest request) {
    }

    private final String baseModel;
    private final Function<String, Optional<TrainingFile>> files;

    /** {@code files}: the caller's files by id (empty for anyone else's). */
    JobRequests(String baseModel, Function<String, Optional<TrainingFile>> files) {
        this.baseModel = baseModel;
        this.files = files;
    }

    NewJob read(JsonObject body, String jobId) {
        String model = string(body, "model", true);
        String parent = null;
        Integer version = null;
        if (!model.equals(baseModel)) {
            Matcher m = ADAPTER.matcher(model);
            if (!m.matches() || !Names.valid(m.group(1))) {
                throw invalid("model must be the base model (" + baseModel + ") or one of your adapters, as name or name@version", "model");
            }
            parent = m.group(1);
            version = m.group(2) == null ? null : Integer.valueOf(m.group(2));
        }
        String trainingFile = file(body, "training_file", true);
        String validationFile = file(body, "validation_file", false);
        String suffix = string(body, "suffix", false);
        if (suffix != null && (suffix.length() > MAX_SUFFIX || !Names.valid(suffix))) {
            throw invalid("suffix names the adapter: up to " + MAX_SUFFIX + " letters, digits, '.', '_' or '-', starting with a letter or digit",
                    "suffix");
        }
        String adapter = suffix != null ? suffix : parent != null ? parent : derivedName(files.apply(trainingFile).orElseThrow().filename(), jobId);
        Long seed = null;
        if (body.getValue("seed") != null) {
            if (!(body.getValue("seed") instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
                throw invalid("seed must be an integer", "seed");
            }
            seed = n.longValue();
        }
        JobRequest.Method method = JobRequest.Method.SUPERVISED;
        JsonObject hyper = object(body, "hyperparameters", "hyperparameters");
        String hyperParam = "hyperparameters";
        JsonObject methodJson = object(body, "method", "method");
        if (methodJson != null) {
            String type = string(methodJson, "type", "method.type", true);
            method = switch (type) {
                case "supervised" -> JobRequest.Method.SUPERVISED;
                case "dpo" -> JobRequest.Method.DPO;
                default -> throw invalid("method.type must be supervised or dpo (" + type + " is not supported)", "method.type");
            };
            JsonObject section = object(methodJson, type, "method." + type);
            JsonObject methodHyper = section == null ? null : object(section, "hyperparameters", "method." + type + ".hyperparameters");
            if (methodHyper != null) {
                if (hyper != null) {
                    throw invalid("give hyperparameters in method." + type + ".hyperparameters or at the top level, not both", "hyperparameters");
                }
                hyper = methodHyper;
                hyperParam = "method." + type + ".hyperparameters";
            }
        }
        hyper = hyper == null ? new JsonObject() : hyper;
        for (String key : hyper.fieldNames()) {
            if (!key.equals("n_epochs") && !key.equals("batch_size") && !key.equals("learning_rate_multiplier")
                    && !(key.equals("beta") && method == JobRequest.Method.DPO)) {
                throw invalid("unknown hyperparameter " + key + (key.equals("beta") ? " (beta is DPO's)" : ""), hyperParam + "." + key);
            }
        }
        Integer epochs = integer(hyper, "n_epochs", hyperParam, 1, 50);
        Integer batch = integer(hyper, "batch_size", hyperParam, 1, 256);
        Double lr = number(hyper, "learning_rate_multiplier", hyperParam, 10);
        Double beta = number(hyper, "beta", hyperParam, 2);
        JsonObject chorus = object(body, "chorus", "chorus");
        boolean skipGate = chorus != null && Boolean.TRUE.equals(chorus.getValue("skip_gate"));
        JobRequest request = new JobRequest(model, parent, trainingFile, validationFile, method, epochs, batch, lr, beta, seed, suffix,
                metadata(body), skipGate);
        return new NewJob(adapter, version, request);
    }

    /** The adapter name a job without suffix or adapter model gets: its training file's name without extension, made safe. */
    static String derivedName(String filename, String jobId) {
        String stem = filename.replaceAll("\\.[A-Za-z0-9]*$", "").replaceAll("[^A-Za-z0-9._-]", "-").replaceAll("^[^A-Za-z0-9]+", "");
        stem = stem.length() > MAX_SUFFIX ? stem.substring(0, MAX_SUFFIX) : stem;
        return Names.valid(stem) ? stem : "ft-" + jobId.substring(jobId.indexOf('-') + 1);
    }

    private String file(JsonObject body, String param, boolean required) {
        String id = string(body, param, required);
        if (id != null && files.apply(id).isEmpty()) {
            throw ApiException.openAi(404, "invalid_request_error", "no file " + id, param, "not_found");
        }
        return id;
    }

    private static Map<String, String> metadata(JsonObject body) {
        JsonObject m = object(body, "metadata", "metadata");
        if (m == null) {
            return Map.of();
        }
        if (m.size() > MAX_METADATA) {
            throw invalid("metadata holds at most " + MAX_METADATA + " pairs", "metadata");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String key : m.fieldNames()) {
            if (key.length() > MAX_KEY) {
                throw invalid("metadata keys are at most " + MAX_KEY + " characters", "metadata");
            }
            if (!(m.getValue(key) instanceof String v) || v.length() > MAX_VALUE) {
                throw invalid("metadata values are strings of at most " + MAX_VALUE + " characters (" + key + ")", "metadata");
            }
            out.put(key, v);
        }
        return out;
    }

    private static Integer integer(JsonObject o, String key, String where, int min, int max) {
        Object v = o.getValue(key);
        if (v == null || "auto".equals(v)) {
            return null;
        }
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() >= min && n.doubleValue() <= max) {
            return n.intValue();
        }
        throw invalid(key + " must be \"auto\" or an integer from " + min + " to " + max, where + "." + key);
    }

    private static Double number(JsonObject o, String key, String where, double max) {
        Object v = o.getValue(key);
        if (v == null || "auto".equals(v)) {
            return null;
        }
        if (v instanceof Number n && n.doubleValue() > 0 && n.doubleValue() <= max) {
            return n.doubleValue();
        }
        throw invalid(key + " must be \"auto\" or a number above 0 and at most " + max, where + "." + key);
    }

    private static String string(JsonObject o, String key, boolean required) {
        return string(o, key, key, required);
    }

    private static String string(JsonObject o, String key, String param, boolean required) {
        Object v = o.getValue(key);
        if (v == null) {
            if (required) {
                throw invalid(param + " is required", param);
            }
            return null;
        }
        if (!(v instanceof String s) || s.isBlank()) {
            throw invalid(param + " must be a non-empty string", param);
        }
        return s;
    }

    private static JsonObject object(JsonObject o, String key, String param) {
        Object v = o.getValue(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof JsonObject j)) {
            throw invalid(param + " must be an object", param);
        }
        return j;
    }

    static ApiException invalid(String message, String param) {
        return ApiException.openAi(400, "invalid_request_error", message, param, "invalid_value");
    }
}
