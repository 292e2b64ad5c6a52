package dev.chorus.kafka;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A user's verdict on one completion, on {@code chorus.feedback} keyed by tenant. {@code eventId}
 * makes redelivery harmless: consumers key what they derive by it, so a repeat collapses.
 * {@code correction}, when given, is the completion the user wanted instead. The completion was
 * asked for with a {@code prompt} or with chat {@code messages} (exactly one of them);
 * {@code requestId} is the completion's id when serving still knew it. {@code adapter} null: the base model.
 *
 * <p>Schema 2 added requestId, messages and metadata; schema-1 records still decode (see {@link EventCodec#FEEDBACK}).
 */
public record FeedbackEvent(int schemaVersion, String eventId, String tenant, String adapter, Integer adapterVersion, String requestId,
        String prompt, List<Message> messages, String completion, int rating, String correction, Map<String, String> metadata,
        Instant createdAt) {
    public static final int SCHEMA_VERSION = 2;
    public static final int MAX_METADATA_ENTRIES = 16;

    /** One chat message (role system, developer, user or assistant). */
    public record Message(String role, String content) {
        public Message {
            Names.present("role", role);
            Names.present("content", content);
        }
    }

    public FeedbackEvent {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("unsupported schemaVersion " + schemaVersion + " (this build reads 1 and " + SCHEMA_VERSION + ")");
        }
        requireEventId(eventId);
        Names.require("tenant", tenant);
        if (adapter != null) {
            Names.require("adapter", adapter);
        }
        if (adapterVersion != null && (adapter == null || adapterVersion < 1)) {
            throw new IllegalArgumentException("adapterVersion needs an adapter and must be >= 1");
        }
        if ((prompt == null) == (messages == null)) {
            throw new IllegalArgumentException("prompt or messages is required, not both");
        }
        if (messages != null) {
            if (messages.isEmpty()) {
                throw new IllegalArgumentException("messages must not be empty");
            }
            messages = List.copyOf(messages);
        }
        Names.present("completion", completion);
        if (rating < -1 || rating > 1) {
            throw new IllegalArgumentException("rating must be -1, 0 or 1");
        }
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
        if (metadata.size() > MAX_METADATA_ENTRIES) {
            throw new IllegalArgumentException("metadata has at most " + MAX_METADATA_ENTRIES + " entries");
        }
        Names.present("createdAt", createdAt);
    }

    /** Event ids are client-chosen idempotency keys: 1-128 printable characters without '/' (they end a record key). */
    public static String requireEventId(String eventId) {
        if (!validEventId(eventId)) {
            throw new IllegalArgumentException("eventId must be 1-128 printable characters without '/'");
        }
        return eventId;
    }

    public static boolean validEventId(String eventId) {
        return eventId != null && !eventId.isEmpty() && eventId.length() <= 128 && eventId.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '/');
    }
}
