package dev.chorus.engine.generation;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.sampling.SamplingParams;
import java.util.List;

/** One completion to run: already-tokenized prompt, limits, sampling and the adapter version to use (null: the base model). */
public record GenerationRequest(String id, int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopStrings, AdapterKey adapter) {
    public GenerationRequest(String id, int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopStrings) {
        this(id, promptIds, maxTokens, sampling, stopStrings, null);
    }

    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new InvalidRequestException("prompt must contain at least one token");
        }
        if (maxTokens < 1) {
            throw new InvalidRequestException("max_tokens must be >= 1, got " + maxTokens);
        }
        stopStrings = List.copyOf(stopStrings);
    }
}
