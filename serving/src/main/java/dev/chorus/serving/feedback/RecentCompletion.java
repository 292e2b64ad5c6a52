package dev.chorus.serving.feedback;

import dev.chorus.kafka.FeedbackEvent;
import java.time.Instant;
import java.util.List;

/**
 * A completion a tenant received, as feedback on it needs it: what was asked (a prompt or chat
 * messages), on which adapter version (null: the base model), and the text the tenant got.
 */
public record RecentCompletion(String id, String tenant, String adapter, Integer adapterVersion, String prompt,
        List<FeedbackEvent.Message> messages, String completion, Instant createdAt) {
}
