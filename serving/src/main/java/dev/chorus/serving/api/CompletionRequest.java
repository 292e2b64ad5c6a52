package dev.chorus.serving.api;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A validated /v1/completions or /v1/chat/completions request, defaults applied: a text
 * completion has a prompt (messages null), a chat completion has messages (prompt null).
 */
public record CompletionRequest(
        Optional<String> model,
        String prompt,
        List<ChatMessage> messages,
        int maxTokens,
        float temperature,
        float topP,
        int topK,
        OptionalLong seed,
        List<String> stop,
        boolean stream,
        boolean includeUsage) {

    public boolean chat() {
        return messages != null;
    }
}
