package dev.chorus.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventCodecTest {
    static final String SHA = "a".repeat(64);
    static final Instant AT = Instant.parse("2026-11-29T10:15:30Z");

    static AdapterManifest manifest() {
        return new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "pirate", 2, 3, List.of(
                new AdapterManifest.Version(2, SHA, 4096, "lora", 8, List.of("q_proj", "v_proj"), "sha256:" + "b".repeat(64), AT,
                        new AdapterManifest.Provenance(1, "ftjob-abc123", Map.of("held_out_loss", 2.5, "active_held_out_loss", 2.75),
                                new AdapterManifest.GateVerdict(true, null)),
                        new AdapterManifest.MergedArtifact("d".repeat(64), 1 << 20, "sha256:" + "e".repeat(64))),
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
        assertEquals(1 << 20, back.active().orElseThrow().merged().sizeBytes(), "the merged artifact survives the trip");
        assertNull(back.version(1).orElseThrow().merged());

        FeedbackEvent f = new FeedbackEvent(2, "e-1", "acme", "pirate", 2, "cmpl-1", "Tom found", null, " a key.", 1, null,
                Map.of("source", "ui"), AT);
        assertEquals(f, EventCodec.FEEDBACK.decode(EventCodec.FEEDBACK.encode(f)));
        FeedbackEvent chat = new FeedbackEvent(2, "e-2", "acme", null, null, null, null,
                List.of(new FeedbackEvent.Message("user", "Hi")), "Hello.", -1, "Hello there!", null, AT);
        assertEquals(chat, EventCodec.FEEDBACK.decode(EventCodec.FEEDBACK.encode(chat)));
        assertEquals(Map.of(), chat.metadata(), "absent metadata reads as empty");
        TrainingJobEvent t = TrainingJobEvent.queued("job-1", "acme", "pirate", 2, 1, AT).running("training-0", 10, 300, 2.5, AT)
                .succeeded(3, true, Map.of("held_out_loss", 1.25), 4096L, AT, AT);
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
        "future schema            | $FEEDBACK(\"schemaVersion\": 2)(\"schemaVersion\": 3)               | unsupported schemaVersion 3",
        "prompt and messages      | $FEEDBACK(\"messages\": null)(\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]) | prompt or messages",
        "neither prompt nor msgs  | $FEEDBACK(\"prompt\": \"Tom\")(\"prompt\": null)                  | prompt or messages",
        "event id with a slash    | $FEEDBACK(\"eventId\": \"e-1\")(\"eventId\": \"a/b\")            | eventId must be",
        "missing field            | $FEEDBACK(\"completion\": \" a key.\", )()                          | completion",
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
                new FeedbackEvent(2, "e-1", "acme", "pirate", 2, null, "Tom", null, " a key.", 1, null, null, AT)), StandardCharsets.UTF_8);
        int open = spec.indexOf('(');
        int mid = spec.indexOf(")(", open);
        String from = spec.substring(open + 1, mid).replace(": ", ":").replace(", ", ",");
        String to = spec.substring(mid + 2, spec.length() - 1);
        assertTrue(valid.contains(from), "test setup: " + from + " not in " + valid);
        return valid.replace(from, to);
    }

    @Test
    void schemaOneFeedbackStillReads() {
        String v1 = "{\"schemaVersion\":1,\"eventId\":\"old-1\",\"tenant\":\"acme\",\"adapter\":\"pirate\",\"adapterVersion\":1,"
                + "\"prompt\":\"Tom\",\"completion\":\" ran.\",\"rating\":-1,\"correction\":\" sailed.\",\"createdAt\":\"2026-11-29T10:15:30Z\"}";
        FeedbackEvent old = EventCodec.FEEDBACK.decode(v1.getBytes(StandardCharsets.UTF_8));
        assertEquals(new FeedbackEvent(2, "old-1", "acme", "pirate", 1, null, "Tom", null, " ran.", -1, " sailed.", Map.of(), AT), old);
        String broken = v1.replace("\"prompt\":\"Tom\",", "");
        EventFormatException e = assertThrows(EventFormatException.class, () -> EventCodec.FEEDBACK.decode(broken.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("prompt"), "a v1 record without its prompt is still rejected: " + e.getMessage());
    }

    @Test
    void schemaOneManifestsStillRead() {
        String v1 = "{\"schemaVersion\":1,\"tenant\":\"acme\",\"name\":\"pirate\",\"activeVersion\":1,\"nextVersion\":2,"
                + "\"versions\":[{\"version\":1,\"blobSha256\":\"" + SHA + "\",\"sizeBytes\":10,\"type\":\"lora\",\"rank\":8,"
                + "\"targetModules\":[\"q_proj\"],\"baseFingerprint\":null,\"createdAt\":\"2026-11-29T10:15:30Z\"}],"
                + "\"updatedAt\":\"2026-11-29T10:15:30Z\"}";
        AdapterManifest old = EventCodec.ADAPTER_MANIFEST.decode(v1.getBytes(StandardCharsets.UTF_8));
        assertEquals(AdapterManifest.SCHEMA_VERSION, old.schemaVersion());
        assertNull(old.active().orElseThrow().provenance(), "an uploaded version: no provenance");
        assertNull(old.active().orElseThrow().merged(), "not merged");
        String noSha = v1.replace("\"blobSha256\":\"" + SHA + "\",", "");
        assertThrows(EventFormatException.class, () -> EventCodec.ADAPTER_MANIFEST.decode(noSha.getBytes(StandardCharsets.UTF_8)),
                "a v1 version without its blob is still rejected");
    }

    @Test
    void schemaTwoManifestsStillRead() {
        String v2 = "{\"schemaVersion\":2,\"tenant\":\"acme\",\"name\":\"pirate\",\"activeVersion\":2,\"nextVersion\":3,"
                + "\"versions\":[{\"version\":2,\"blobSha256\":\"" + SHA + "\",\"sizeBytes\":10,\"type\":\"qa-sparse-peft\",\"rank\":8,"
                + "\"targetModules\":[\"q_proj\"],\"baseFingerprint\":null,\"createdAt\":\"2026-11-29T10:15:30Z\","
                + "\"provenance\":{\"parentVersion\":1,\"jobId\":\"ftjob-abc\",\"metrics\":{},\"gate\":null}}],"
                + "\"updatedAt\":\"2026-11-29T10:15:30Z\"}";
        AdapterManifest old = EventCodec.ADAPTER_MANIFEST.decode(v2.getBytes(StandardCharsets.UTF_8));
        assertEquals(AdapterManifest.SCHEMA_VERSION, old.schemaVersion());
        assertEquals(1, old.active().orElseThrow().provenance().parentVersion(), "schema 2's provenance is kept");
        assertNull(old.active().orElseThrow().merged(), "a schema-2 version is not merged");
        String noProvenance = v2.replace(",\"provenance\":{\"parentVersion\":1,\"jobId\":\"ftjob-abc\",\"metrics\":{},\"gate\":null}", "");
        EventFormatException e = assertThrows(EventFormatException.class,
                () -> EventCodec.ADAPTER_MANIFEST.decode(noProvenance.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("provenance"), "schema 2 always had provenance: " + e.getMessage());
        String v3WithoutMerged = v2.replace("\"schemaVersion\":2", "\"schemaVersion\":3");
        e = assertThrows(EventFormatException.class, () -> EventCodec.ADAPTER_MANIFEST.decode(v3WithoutMerged.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("merged"), "schema 3 must say merged, even as null: " + e.getMessage());
    }

    @Test
    void mergedArtifactIsChecked() {
        String fp = "sha256:" + "e".repeat(64);
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.MergedArtifact("ABC", 1, fp), "sha256 form");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.MergedArtifact(null, 1, fp), "sha256 present");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.MergedArtifact(SHA, -1, fp), "size >= 0");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.MergedArtifact(SHA, 1, null), "fingerprint present");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.MergedArtifact(SHA, 1, "e".repeat(64)), "fingerprint form");
        var version = new AdapterManifest.Version(1, SHA, 10, "sparse-peft", 8, List.of("q_proj"), null, AT);
        var merged = version.withMerged(new AdapterManifest.MergedArtifact(SHA, 5, fp));
        assertEquals(version, merged.withMerged(null), "attaching changes nothing else");
        String json = new String(EventCodec.ADAPTER_MANIFEST.encode(new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 1, 2,
                List.of(merged), AT)), StandardCharsets.UTF_8);
        String bad = json.replace("\"sizeBytes\":5", "\"sizeBytes\":-5");
        EventFormatException e = assertThrows(EventFormatException.class, () -> EventCodec.ADAPTER_MANIFEST.decode(bad.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("merged sizeBytes"), e.getMessage());
    }

    @Test
    void provenanceIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.Provenance(0, null, null, null), "parent >= 1");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest.Provenance(null, "job 1", null, null), "job id form");
        assertThrows(IllegalArgumentException.class,
                () -> new AdapterManifest.Provenance(null, null, Map.of("loss", Double.NaN), null), "finite metrics");
        assertThrows(IllegalArgumentException.class,
                () -> new AdapterManifest.Provenance(null, null, Map.of("Held Out", 1.0), null), "snake_case names");
        var fromTwo = new AdapterManifest.Provenance(2, "ftjob-x1", Map.of(), new AdapterManifest.GateVerdict(false, "worse"));
        assertThrows(IllegalArgumentException.class,
                () -> new AdapterManifest.Version(2, SHA, 10, "lora", 8, List.of("q_proj"), null, AT, fromTwo), "parent older than child");
        assertEquals(Map.of(), new AdapterManifest.Provenance(1, null, null, null).metrics());
    }

    @Test
    void schemaOneJobsStillRead() {
        String v1 = "{\"schemaVersion\":1,\"jobId\":\"job-1\",\"tenant\":\"acme\",\"adapter\":\"pirate\",\"state\":\"FAILED\","
                + "\"fromVersion\":2,\"producedVersion\":null,\"step\":3,\"totalSteps\":300,\"loss\":2.0,\"message\":\"boom\","
                + "\"at\":\"2026-11-29T10:15:30Z\"}";
        TrainingJobEvent old = EventCodec.TRAINING_JOB.decode(v1.getBytes(StandardCharsets.UTF_8));
        assertEquals(TrainingJobEvent.SCHEMA_VERSION, old.schemaVersion());
        assertEquals(AT, old.createdAt(), "created when first seen");
        assertEquals(1, old.attempt());
        assertEquals(false, old.promoted());
        assertEquals(Map.of(), old.metrics());
        assertEquals("boom", old.message());
        String noState = v1.replace("\"state\":\"FAILED\",", "");
        assertThrows(EventFormatException.class, () -> EventCodec.TRAINING_JOB.decode(noState.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void schemaTwoJobsReadAsFeedbackJobsWithAnEmptyLog() {
        String v2 = "{\"schemaVersion\":2,\"jobId\":\"ftjob-1\",\"tenant\":\"acme\",\"adapter\":\"pirate\",\"state\":\"RUNNING\","
                + "\"fromVersion\":2,\"producedVersion\":null,\"step\":3,\"totalSteps\":300,\"loss\":2.0,\"message\":null,"
                + "\"at\":\"2026-11-29T10:15:30Z\",\"createdAt\":\"2026-11-29T10:00:00Z\",\"errorCode\":null,\"promoted\":false,"
                + "\"metrics\":{},\"trainedTokens\":null,\"trainedThrough\":null,\"attempt\":2,\"runner\":\"training-0\"}";
        TrainingJobEvent old = EventCodec.TRAINING_JOB.decode(v2.getBytes(StandardCharsets.UTF_8));
        assertEquals(TrainingJobEvent.SCHEMA_VERSION, old.schemaVersion());
        assertEquals(2, old.attempt());
        assertNull(old.request(), "no request: a feedback job");
        assertEquals(List.of(), old.events());
        assertEquals(3, old.step());
    }

    @Test
    void anApiJobWithItsLogRoundTrips() {
        JobRequest request = new JobRequest("pirate@2", "pirate", "file-a", "file-b", JobRequest.Method.DPO, 3, null, 0.5, 0.2, 7L, null,
                Map.of("team", "support"), true);
        TrainingJobEvent job = TrainingJobEvent.validating("ftjob-abc", "acme", "pirate", 2, request, AT).validated(AT)
                .running("training-0", 1, 10, 2.5, AT).measured("Step 1/10", Map.of("step", 1.0, "train_loss", 2.5), AT)
                .failed("invalid_training_file", "line 3: not a JSON object", "training_file", AT);
        assertEquals(job, EventCodec.TRAINING_JOB.decode(EventCodec.TRAINING_JOB.encode(job)));
        assertEquals(List.of("ftevent-abc-1", "ftevent-abc-2", "ftevent-abc-3", "ftevent-abc-4", "ftevent-abc-5"),
                job.events().stream().map(JobLogEvent::id).toList());
        assertEquals("training_file", job.errorParam());
        assertEquals(JobLogEvent.Level.ERROR, job.events().get(4).level());
    }

    @Test
    void aLongLogDropsItsOldestMetricsAndKeepsItsMessages() {
        TrainingJobEvent job = TrainingJobEvent.queued("ftjob-abc", "acme", "pirate", null, 1, AT);
        for (int i = 1; i <= TrainingJobEvent.MAX_EVENTS + 10; i++) {
            job = job.measured("Step " + i, Map.of("step", (double) i), AT);
        }
        assertEquals(TrainingJobEvent.MAX_EVENTS, job.events().size());
        assertEquals("Fine-tuning job queued", job.events().get(0).message(), "messages stay");
        assertEquals("Step 12", job.events().get(1).message(), "the oldest metrics went");
    }

    static FeedbackEvent feedback(String eventId, int rating, String correction) {
        return new FeedbackEvent(2, eventId, "acme", "pirate", 3, null, "Tom", null, " ran.", rating, correction, null, AT);
    }

    @Test
    void feedbackBecomesTheExampleOfItsKind() {
        TrainingExample liked = TrainingExample.of(feedback("e-1", 1, null));
        assertEquals(TrainingExample.Kind.SUPERVISED, liked.kind());
        assertEquals(" ran.", liked.chosen());
        assertEquals("acme/pirate/e-1", liked.key());
        TrainingExample corrected = TrainingExample.of(feedback("e-2", -1, " sailed."));
        assertEquals(TrainingExample.Kind.PREFERENCE, corrected.kind());
        assertEquals(" sailed.", corrected.chosen());
        assertEquals(" ran.", corrected.rejected());
        TrainingExample improved = TrainingExample.of(feedback("e-3", 0, " sailed."));
        assertEquals(TrainingExample.Kind.SUPERVISED, improved.kind(), "a correction is supervised whatever the rating");
        assertEquals(" sailed.", improved.chosen());
        TrainingExample disliked = TrainingExample.of(feedback("e-4", -1, null));
        assertEquals(TrainingExample.Kind.NEGATIVE, disliked.kind());
        assertNull(disliked.chosen());
        assertEquals(TrainingExample.Kind.COUNTED, TrainingExample.of(feedback("e-5", 0, null)).kind());
        FeedbackEvent onBase = new FeedbackEvent(2, "e-6", "acme", null, null, null, "Tom", null, " ran.", 1, null, null, AT);
        assertEquals("acme/_base/e-6", TrainingExample.of(onBase).key());
        for (TrainingExample x : List.of(liked, corrected, improved, disliked)) {
            assertEquals(x, EventCodec.TRAINING_EXAMPLE.decode(EventCodec.TRAINING_EXAMPLE.encode(x)));
        }
    }

    @Test
    void theHeldOutSplitIsFixedAndAboutATenth() {
        int held = 0;
        for (int i = 0; i < 10_000; i++) {
            boolean h = TrainingExample.heldOut("acme", "pirate", "event-" + i);
            assertEquals(h, TrainingExample.heldOut("acme", "pirate", "event-" + i), "deterministic");
            held += h ? 1 : 0;
        }
        assertTrue(held > 900 && held < 1100, "about 10 % held out: " + held);
        assertEquals(TrainingExample.heldOut("acme", "pirate", "e-1"), TrainingExample.of(feedback("e-1", 1, null)).heldOut());
    }

    @Test
    void malformedExamplesAreRejected() {
        String valid = new String(EventCodec.TRAINING_EXAMPLE.encode(TrainingExample.of(feedback("e-1", -1, " sailed."))), StandardCharsets.UTF_8);
        assertTrue(valid.contains("\"kind\":\"PREFERENCE\""), valid);
        for (String[] bad : new String[][] {
            {valid.replace("\"kind\":\"PREFERENCE\"", "\"kind\":\"GOOD\""), "kind"},
            {valid.replace("\"kind\":\"PREFERENCE\"", "\"kind\":\"COUNTED\""), "COUNTED has no chosen"},
            {valid.replace("\"rejected\":\" ran.\"", "\"rejected\":null"), "PREFERENCE needs rejected"},
            {valid.replace("\"schemaVersion\":1", "\"schemaVersion\":2"), "unsupported schemaVersion 2"},
            {valid.replace("\"heldOut\":false", "\"heldOut\":\"no\"").replace("\"heldOut\":true", "\"heldOut\":\"no\""), "heldOut"},
            {valid.replace("\"tenant\":\"acme\"", "\"tenant\":\"../x\""), "tenant must be"},
        }) {
            EventFormatException e = assertThrows(EventFormatException.class,
                    () -> EventCodec.TRAINING_EXAMPLE.decode(bad[0].getBytes(StandardCharsets.UTF_8)), bad[1]);
            assertTrue(e.getMessage().contains(bad[1]), bad[1] + ": " + e.getMessage());
        }
    }

    @Test
    void manifestInvariantsAreChecked() {
        var v1 = new AdapterManifest.Version(1, SHA, 10, "lora", 8, List.of("q_proj"), null, AT);
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 2, 3, List.of(v1), AT), "active not a version");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 1, 1, List.of(v1), AT), "next reuses 1");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 1, 2, List.of(v1, v1), AT), "duplicate");
        assertThrows(IllegalArgumentException.class, () -> new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 1, 2, List.of(), AT), "deleted, yet active");
        AdapterManifest deleted = new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", "p", 0, 5, List.of(), AT);
        assertTrue(deleted.deleted(), "no versions left means deleted");
        assertTrue(deleted.active().isEmpty(), "a deleted adapter has no active version");
        assertEquals(deleted, EventCodec.ADAPTER_MANIFEST.decode(EventCodec.ADAPTER_MANIFEST.encode(deleted)));
        assertThrows(IllegalArgumentException.class,
                () -> new AdapterManifest.Version(1, "ABC", 10, "lora", 8, List.of("q_proj"), null, AT), "sha256 form");
    }
}
