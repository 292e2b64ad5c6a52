package dev.chorus.kafka;

import java.time.Instant;

/**
 * A user's verdict on one completion, on {@code chorus.feedback} keyed by tenant. {@code eventId}
 * makes redelivery harmless: consumers drop ids they have stored. {@code correction}, when given,
 * is the completion the user wanted instead.
 */
public record FeedbackEvent(int schemaVersion, String eventId, String tenant, String adapter, Integer adapterVersion, String prompt,
        String completion, int rating, String correction, Instant createdAt) {
    public static final int SCHEMA_VERSION = 1;

    public FeedbackEvent {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("unsupported schemaVersion " + schemaVersion + " (this build reads " + SCHEMA_VERSION + ")");
        }
        if (eventId == null || eventId.isBlank() || eventId.length() > 128) {
            throw new IllegalArgumentException("eventId must be 1-128 characters");
        }
        Names.require("tenant", tenant);
        if (adapter != null) {
            Names.require("adapter", adapter);
        }
        if (adapterVersion != null && (adapter == null || adapterVersion < 1)) {
            throw new IllegalArgumentException("adapterVersion needs an adapter and must be >= 1");
        }
        Names.present("prompt", prompt);
        Names.present("completion", completion);
        if (rating < -1 || rating > 1) {
            throw new IllegalArgumentException("rating must be -1, 0 or 1");
        }
        Names.present("createdAt", createdAt);
    }
}
