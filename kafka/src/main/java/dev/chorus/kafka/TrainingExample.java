package dev.chorus.kafka;

import java.time.Instant;
import java.util.List;

/**
 * What one feedback event contributes to an adapter's training data, on the compacted
 * {@code chorus.training-examples} keyed {@code tenant/adapter/eventId}, so a repeated event id
 * collapses to one record and a tombstone erases it.
 *
 * <ul>
 * <li>{@code SUPERVISED}: (prompt, chosen) - a liked completion, or a correction.
 * <li>{@code PREFERENCE}: (prompt, chosen = correction, rejected = completion) - a disliked completion
 *     that was corrected; also usable as the supervised pair (prompt, chosen).
 * <li>{@code NEGATIVE}: (prompt, rejected) - disliked, uncorrected; a preference pair once a chosen
 *     answer for the same prompt exists.
 * <li>{@code COUNTED}: a neutral rating; only counted.
 * </ul>
 * {@code heldOut} puts the example in the adapter's fixed evaluation set ({@link #heldOut(String, String, String)}).
 * {@code adapter} is {@link #BASE} for feedback on the base model.
 */
public record TrainingExample(int schemaVersion, String eventId, String tenant, String adapter, Integer adapterVersion, Kind kind,
        String prompt, List<FeedbackEvent.Message> messages, String chosen, String rejected, boolean heldOut, Instant createdAt) {
    public static final int SCHEMA_VERSION = 1;
    /** The adapter segment of examples from feedback on the base model (no adapter name starts with '_'). */
    public static final String BASE = "_base";
    /** Share of each adapter's examples, in percent, that are held out for evaluation. */
    public static final int HELD_OUT_PERCENT = 10;

    public enum Kind { SUPERVISED, PREFERENCE, NEGATIVE, COUNTED }

    public TrainingExample {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("unsupported schemaVersion " + schemaVersion + " (this build reads " + SCHEMA_VERSION + ")");
        }
        FeedbackEvent.requireEventId(eventId);
        Names.require("tenant", tenant);
        if (!BASE.equals(adapter)) {
            Names.require("adapter", adapter);
        }
        Names.present("kind", kind);
        if ((prompt == null) == (messages == null)) {
            throw new IllegalArgumentException("prompt or messages is required, not both");
        }
        messages = messages == null ? null : List.copyOf(messages);
        boolean needsChosen = kind == Kind.SUPERVISED || kind == Kind.PREFERENCE;
        boolean needsRejected = kind == Kind.PREFERENCE || kind == Kind.NEGATIVE;
        if ((chosen != null) != needsChosen) {
            throw new IllegalArgumentException(kind + (needsChosen ? " needs" : " has no") + " chosen");
        }
        if ((rejected != null) != needsRejected) {
            throw new IllegalArgumentException(kind + (needsRejected ? " needs" : " has no") + " rejected");
        }
        Names.present("createdAt", createdAt);
    }

    /** The record key: tenant/adapter/eventId. */
    public String key() {
        return key(tenant, adapter, eventId);
    }

    public static String key(String tenant, String adapter, String eventId) {
        return tenant + "/" + adapter + "/" + eventId;
    }

    /** The tenant/adapter/ prefix every key of one adapter's examples starts with. */
    public static String adapterPrefix(String tenant, String adapter) {
        return tenant + "/" + adapter + "/";
    }

    /**
     * The fixed held-out split: a hash of the key, so the same event is always on the same side,
     * whichever instance computes it and however often, and about {@link #HELD_OUT_PERCENT} % of an adapter's
     * examples are held out.
     */
    public static boolean heldOut(String tenant, String adapter, String eventId) {
        byte[] h = Sha256.of(key(tenant, adapter, eventId));
        int bucket = Integer.remainderUnsigned(((h[0] & 0xff) << 24) | ((h[1] & 0xff) << 16) | ((h[2] & 0xff) << 8) | (h[3] & 0xff), 100);
        return bucket < HELD_OUT_PERCENT;
    }

    /** The example {@code event} gives: see the kinds above. */
    public static TrainingExample of(FeedbackEvent event) {
        String adapter = event.adapter() == null ? BASE : event.adapter();
        Kind kind;
        String chosen = null;
        String rejected = null;
        if (event.correction() != null) {
            chosen = event.correction();
            if (event.rating() < 0) {
                kind = Kind.PREFERENCE;
                rejected = event.completion();
            } else {
                kind = Kind.SUPERVISED;
            }
        } else if (event.rating() > 0) {
            kind = Kind.SUPERVISED;
            chosen = event.completion();
        } else if (event.rating() < 0) {
            kind = Kind.NEGATIVE;
            rejected = event.completion();
        } else {
            kind = Kind.COUNTED;
        }
        return new TrainingExample(SCHEMA_VERSION, event.eventId(), event.tenant(), adapter, event.adapterVersion(), kind, event.prompt(),
                event.messages(), chosen, rejected, heldOut(event.tenant(), adapter, event.eventId()), event.createdAt());
    }
}
