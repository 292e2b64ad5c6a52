package dev.chorus.serving;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** The OpenAI text_completion shapes for one request: the full response and the stream chunks. */
final class CompletionJson {
    private final String id;
    private final long created;
    private final String model;

    CompletionJson(String id, long created, String model) {
        this.id = id;
        this.created = created;
        this.model = model;
    }

    /** Non-streaming response body. */
    JsonObject completion(String text, String finishReason, int promptTokens, int completionTokens) {
        return envelope().put("choices", new JsonArray().add(choice(text, finishReason))).put("usage", usage(promptTokens, completionTokens));
    }

    /** A stream chunk: a text delta (finishReason null) or the closing chunk with the finish reason. */
    JsonObject chunk(String delta, String finishReason) {
        return envelope().put("choices", new JsonArray().add(choice(delta, finishReason)));
    }

    /** The include_usage chunk: no choices, just the totals. */
    JsonObject usageChunk(int promptTokens, int completionTokens) {
        return envelope().put("choices", new JsonArray()).put("usage", usage(promptTokens, completionTokens));
    }

    private JsonObject envelope() {
        return new JsonObject().put("id", id).put("object", "text_completion").put("created", created).put("model", model);
    }

    private static JsonObject choice(String text, String finishReason) {
        return new JsonObject().put("index", 0).put("text", text).putNull("logprobs").put("finish_reason", finishReason);
    }

    private static JsonObject usage(int promptTokens, int completionTokens) {
        return new JsonObject()
                .put("prompt_tokens", promptTokens)
                .put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }
}
