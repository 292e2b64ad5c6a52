package dev.chorus.serving.api;

import dev.chorus.kafka.FeedbackEvent;
import java.util.List;
import java.util.Map;

/**
 * A validated POST /v1/feedback body: either {@code completionId} (a recent completion of the
 * caller) or {@code model} with {@code prompt} or {@code messages} and {@code completion}; then the
 * rating, an optional correction, the event id (generated when the client sent none) and metadata.
 */
public record FeedbackRequest(String completionId, String model, String prompt, List<FeedbackEvent.Message> messages, String completion,
        int rating, String correction, String eventId, Map<String, String> metadata) {
}
