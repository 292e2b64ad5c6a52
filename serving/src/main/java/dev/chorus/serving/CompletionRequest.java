package dev.chorus.serving;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** A validated /v1/completions request; defaults already applied. */
public record CompletionRequest(
        Optional<String> model,
        String prompt,
        int maxTokens,
        float temperature,
        float topP,
        int topK,
        OptionalLong seed,
        List<String> stop,
        boolean stream,
        boolean includeUsage) {
}
