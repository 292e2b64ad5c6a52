package dev.chorus.engine.generation;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.sampling.SamplingParams;
import java.util.List;

/**
 * One completion to run: already-tokenized prompt, limits, sampling, the adapter version to use
 * (null: the base model) and the tenant it runs for, whose requests share the engine fairly with
 * other tenants' ({@link EngineLoop}: admission and prefill round-robin by tenant).
 */
public record GenerationRequest(String id, int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopStrings, AdapterKey adapter,
        String tenant) {
    /** Requests without a tenant of their own share this one (the CLI, operators). */
    public static final String NO_TENANT = "";

    public GenerationRequest(String id, int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopStrings) {
        this(id, promptIds, maxTokens, sampling, stopStrings, null);
    }

    /** For the adapter's tenant, or for no tenant on the base model. */
    public GenerationRequest(String id, int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopStrings, AdapterKey adapter) {
        this(id, promptIds, maxTokens, sampling, stopStrings, adapter, adapter == null ? NO_TENANT : adapter.tenant());
    }

    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new InvalidRequestException("prompt must contain at least one token");
        }
        if (maxTokens < 1) {
            throw new InvalidRequestException("max_tokens must be >= 1, got " + maxTokens);
        }
        stopStrings = List.copyOf(stopStrings);
        tenant = tenant == null ? NO_TENANT : tenant;
    }
}
