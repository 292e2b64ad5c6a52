package dev.chorus.kafka;

import java.util.Map;

/**
 * What a caller asked of a fine-tuning job through the API (OpenAI's create request, resolved):
 * the model it starts from as given ({@code model}: the base's id, {@code adapter} or
 * {@code adapter@version}), the parent adapter that names when it is one, the uploaded files, the
 * method and its hyperparameters (null: "auto", the service's defaults), the seed and the caller's
 * metadata. Feedback-triggered jobs have no request.
 */
public record JobRequest(String model, String parentAdapter, String trainingFile, String validationFile, Method method, Integer epochs,
        Integer batchSize, Double learningRateMultiplier, Double beta, Long seed, String suffix, Map<String, String> metadata,
        boolean skipGate) {

    public enum Method { SUPERVISED, DPO }

    public JobRequest {
        Names.present("model", model);
        Names.present("trainingFile", trainingFile);
        Names.present("method", method);
        if (parentAdapter != null) {
            Names.require("parentAdapter", parentAdapter);
        }
        if (epochs != null && epochs < 1 || batchSize != null && batchSize < 1) {
            throw new IllegalArgumentException("epochs and batchSize count from 1");
        }
        if (learningRateMultiplier != null && !(learningRateMultiplier > 0) || beta != null && !(beta > 0)) {
            throw new IllegalArgumentException("learningRateMultiplier and beta must be > 0");
        }
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
}
