package dev.chorus.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventCodecTest {
    static final String SHA = "a".repeat(64);
    static final Instant AT = Instant.parse("2026-11-29T10:15:30Z");

    static AdapterManifest manifest() {
        return new AdapterManifest(1, "acme", "pirate", 2, 3, List.of(
                new AdapterManifest.Version(2, SHA, 4096, "lora", 8, List.of("q_proj", "v_proj"), "sha256:" + "b".repeat(64), AT),
                new AdapterManifest.Version(1, "c".repeat(64), 2048, "qa-lora", 4, List.of("q_proj"), null, AT)), AT);
    }

    @Test
    void eventsRoundTrip() {
        AdapterManifest m = manifest();
        AdapterManifest back = EventCodec.ADAPTER_MANIFEST.decode(EventCodec.ADAPTER_MANIFEST.encode(m));
        assertEquals(m, back);
        assertEquals(List.of(1, 2), back.versions().stream().map(AdapterManifest.Version::version).toList(), "kept in version order");
        assertEquals("acme/pirate", back.key());
        assertEquals(2, back.active().orElseThrow().version());

        FeedbackEvent f = new FeedbackEvent(1, "e-1", "acme", "pirate", 2, "Tom found", " a key.", 1, null, AT);
        assertEquals(f, EventCodec.FEEDBACK.decode(EventCodec.FEEDBACK.encode(f)));
        TrainingJobEvent t = new TrainingJobEvent(1, "job-1", "acme", "pirate", TrainingJobEvent.State.SUCCEEDED, 2, 3, 300, 300, 1.25,
                null, AT);
        assertEquals(t, EventCodec.TRAINING_JOB.decode(EventCodec.TRAINING_JOB.encode(t)));
        String json = new String(EventCodec.TRAINING_JOB.encode(t), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"at\":\"2026-11-29T10:15:30Z\""), "time as ISO-8601: " + json);
        assertTrue(json.contains("\"state\":\"SUCCEEDED\""), "state by name: " + json);
    }

    @Test
    void nullIsATombstoneBothWays() {
        assertNull(EventCodec.ADAPTER_MANIFEST.serialize("chorus.adapters", null));
        assertNull(EventCodec.ADAPTER_MANIFEST.deserialize("chorus.adapters", null));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "not JSON                 | {\"schemaVersion\": 1,                                              | not valid JSON",
        "empty                    |                                                                     | empty record",
        "a JSON array             | []                                                                  | FeedbackEvent",
        "trailing garbage         | {} x                                                                | FeedbackEvent",
        "future schema            | $FEEDBACK(\"schemaVersion\": 1)(\"schemaVersion\": 2)               | unsupported schemaVersion 2",
        "missing field            | $FEEDBACK(\"prompt\": \"Tom\", )()                                  | prompt",
        "wrong type               | $FEEDBACK(\"rating\": 1)(\"rating\": \"good\")                      | rating",
        "rating out of range      | $FEEDBACK(\"rating\": 1)(\"rating\": 5)                             | rating must be -1, 0 or 1",
        "tenant escapes           | $FEEDBACK(\"tenant\": \"acme\")(\"tenant\": \"../etc\")             | tenant must be",
        "version without adapter  | $FEEDBACK(\"adapter\": \"pirate\")(\"adapter\": null)               | adapterVersion needs an adapter",
        "bad timestamp            | $FEEDBACK(\"2026-11-29T10:15:30Z\")(\"yesterday\")                  | createdAt",
    })
    void malformedFeedbackIsRejectedWithTheReason(String description, String body, String reason) {
        String json = body == null ? "" : body.startsWith("$FEEDBACK") ? substitute(body) : body;
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> EventCodec.FEEDBACK.decode(json.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains(reason), description + ": " + e.getMessage());
    }

    /** $FEEDBACK(from)(to): a valid event's JSON with one text replaced. */
    private static String substitute(String spec) {
        String valid = new String(EventCodec.FEEDBACK.encode(
                new FeedbackEvent(1, "e-1", "acme", "pirate", 2, "Tom", " a key.", 1, null, AT)), StandardCharsets.UTF_8);
        int open = spec.indexOf('(');
        int mid = spec.indexOf(")(", open);
        String from = spec.substring(open + 1, mid).replace(": ", ":").replace(", ", ",");
        String to = spec.substring(mid + 2, spec.length() - 1);
        assertTrue(valid.contains(from), "test setup: " + from + " not in " + valid);
        return valid.replace(from, to);
    }

    @Test
    void manifestInvariantsAreChecked() {
        var v1 = new AdapterManifest.Version(1, SHA, 10, "lora", 8, List.of("q_proj"), null, AT);
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(1, "acme", "p", 2, 3, List.of(v1), AT), "active not a version");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(1, "acme", "p", 1, 1, List.of(v1), AT), "next reuses 1");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(1, "acme", "p", 1, 2, List.of(v1, v1), AT), "duplicate");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(1, "acme", "p", 1, 2, List.of(), AT), "deleted, yet active");
        AdapterManifest deleted = new AdapterManifest(1, "acme", "p", 0, 5, List.of(), AT);
        assertTrue(deleted.deleted(), "no versions left means deleted");
        assertTrue(deleted.active().isEmpty(), "a deleted adapter has no active version");
        assertEquals(deleted, EventCodec.ADAPTER_MANIFEST.decode(EventCodec.ADAPTER_MANIFEST.encode(deleted)));
        assertThrows(IllegalArgumentException.class,
                () -> new AdapterManifest.Version(1, "ABC", 10, "lora", 8, List.of("q_proj"), null, AT), "sha256 form");
    }
}
