package dev.chorus.serving.api;

import dev.chorus.kafka.FeedbackEvent;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Turns a POST /v1/feedback body into a {@link FeedbackRequest}; every rejection names its field. */
public final class FeedbackRequestParser {
    static final int MAX_METADATA_KEY = 64;
    static final int MAX_METADATA_VALUE = 1024;

    private FeedbackRequestParser() {
    }

    public static FeedbackRequest parse(Buffer body) {
        JsonObject json = CompletionRequestParser.object(body);
        int rating = rating(json.getValue("rating"));
        String correction = optionalText(json, "correction");
        String eventId = eventId(json.getValue("event_id"));
        Map<String, String> metadata = metadata(json.getValue("metadata"));
        String completionId = optionalText(json, "completion_id");
        if (completionId != null) {
            for (String field : List.of("model", "prompt", "messages", "completion")) {
                if (json.getValue(field) != null) {
                    throw OpenAiErrors.invalid("send completion_id or model with prompt/messages and completion, not both", field);
                }
            }
            return new FeedbackRequest(completionId, null, null, null, null, rating, correction, eventId, metadata);
        }
        String model = optionalText(json, "model");
        if (model == null) {
            throw OpenAiErrors.invalid("completion_id, or model with prompt or messages and completion, is required", "completion_id");
        }
        boolean hasPrompt = json.getValue("prompt") != null;
        boolean hasMessages = json.getValue("messages") != null;
        if (hasPrompt == hasMessages) {
            throw OpenAiErrors.invalid("send prompt or messages (exactly one)", hasPrompt ? "messages" : "prompt");
        }
        String prompt = hasPrompt ? CompletionRequestParser.prompt(json.getValue("prompt")) : null;
        List<FeedbackEvent.Message> messages = hasMessages
                ? CompletionRequestParser.messages(json.getValue("messages")).stream()
                        .map(m -> new FeedbackEvent.Message(m.role(), m.content())).toList()
                : null;
        if (!(json.getValue("completion") instanceof String completion)) {
            throw OpenAiErrors.invalid("completion (the text the model gave) is required", "completion");
        }
        return new FeedbackRequest(null, model, prompt, messages, completion, rating, correction, eventId, metadata);
    }

    private static int rating(Object value) {
        if (value instanceof Number n && (n instanceof Integer || n instanceof Long) && n.longValue() >= -1 && n.longValue() <= 1) {
            return n.intValue();
        }
        throw OpenAiErrors.invalid(value == null ? "rating is required: -1, 0 or 1" : "rating must be -1, 0 or 1", "rating");
    }

    private static String optionalText(JsonObject json, String field) {
        Object value = json.getValue(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String text) || text.isEmpty()) {
            throw OpenAiErrors.invalid(field + " must be a non-empty string", field);
        }
        return text;
    }

    private static String eventId(Object value) {
        if (value == null) {
            return "fb-" + UUID.randomUUID();
        }
        if (!(value instanceof String id) || !FeedbackEvent.validEventId(id)) {
            throw OpenAiErrors.invalid("event_id must be 1-128 printable ASCII characters without spaces or '/'", "event_id");
        }
        return id;
    }

    private static Map<String, String> metadata(Object value) {
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof JsonObject object) || object.size() > FeedbackEvent.MAX_METADATA_ENTRIES) {
            throw OpenAiErrors.invalid("metadata must be an object of at most " + FeedbackEvent.MAX_METADATA_ENTRIES + " string values",
                    "metadata");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : object) {
            if (e.getKey().isEmpty() || e.getKey().length() > MAX_METADATA_KEY || !(e.getValue() instanceof String text)
                    || text.length() > MAX_METADATA_VALUE) {
                throw OpenAiErrors.invalid("metadata keys are 1-" + MAX_METADATA_KEY + " characters and values strings of at most "
                        + MAX_METADATA_VALUE, "metadata");
            }
            metadata.put(e.getKey(), text);
        }
        return metadata;
    }
}
