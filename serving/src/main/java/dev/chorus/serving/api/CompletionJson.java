package dev.chorus.serving.api;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The OpenAI response shapes for one request, text_completion or chat.completion: the full
 * response and the stream chunks.
 */
final class CompletionJson {
    private final String id;
    private final long created;
    private final String model;
    private final boolean chat;

    CompletionJson(String id, long created, String model, boolean chat) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.chat = chat;
    }

    /** Non-streaming response body. */
    JsonObject completion(String text, String finishReason, int promptTokens, int completionTokens) {
        JsonObject choice = chat
                ? choice(finishReason).put("message", new JsonObject().put("role", "assistant").put("content", text))
                : choice(finishReason).put("text", text);
        return envelope(chat ? "chat.completion" : "text_completion")
                .put("choices", new JsonArray().add(choice))
                .put("usage", usage(promptTokens, completionTokens));
    }

    /** The chunk that opens a chat stream (the assistant role, no text yet); null for text completions. */
    JsonObject openingChunk() {
        return chat ? chunkWith(choice(null).put("delta", new JsonObject().put("role", "assistant").put("content", ""))) : null;
    }

    /** A stream chunk: a text delta (finishReason null) or the closing chunk with the finish reason. */
    JsonObject chunk(String delta, String finishReason) {
        if (!chat) {
            return chunkWith(choice(finishReason).put("text", delta));
        }
        JsonObject content = finishReason == null ? new JsonObject().put("content", delta) : new JsonObject();
        return chunkWith(choice(finishReason).put("delta", content));
    }

    /** The include_usage chunk: no choices, just the totals. */
    JsonObject usageChunk(int promptTokens, int completionTokens) {
        return envelope(streamObject()).put("choices", new JsonArray()).put("usage", usage(promptTokens, completionTokens));
    }

    private JsonObject chunkWith(JsonObject choice) {
        return envelope(streamObject()).put("choices", new JsonArray().add(choice));
    }

    private String streamObject() {
        return chat ? "chat.completion.chunk" : "text_completion";
    }

    private JsonObject envelope(String object) {
        return new JsonObject().put("id", id).put("object", object).put("created", created).put("model", model);
    }

    private static JsonObject choice(String finishReason) {
        return new JsonObject().put("index", 0).putNull("logprobs").put("finish_reason", finishReason);
    }

    private static JsonObject usage(int promptTokens, int completionTokens) {
        return new JsonObject()
                .put("prompt_tokens", promptTokens)
                .put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }
}
