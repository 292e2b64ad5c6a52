package dev.chorus.training;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** Feedback on the topic in, examples and datasets out, on a real (embedded) broker; the REST view of them. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class DatasetsApiTest {
    static final String ACME = "Bearer acme-key";

    @EmbeddedKafkaResource.BootstrapServers
    String kafka;

    static RequestSpecification as(String auth) {
        return given().header("Authorization", auth);
    }

    /** An adapter name no other test uses, so tests share the broker without seeing each other's data. */
    static String freshAdapter() {
        return "a-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static FeedbackEvent event(String adapter, String eventId, String prompt, String completion, int rating, String correction) {
        return new FeedbackEvent(FeedbackEvent.SCHEMA_VERSION, eventId, "acme", adapter, 1, null, prompt, null, completion, rating,
                correction, null, Instant.now());
    }

    void send(List<ProducerRecord<String, byte[]>> records) throws Exception {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka, "acks", "all"),
                new StringSerializer(), new ByteArraySerializer())) {
            for (ProducerRecord<String, byte[]> r : records) {
                producer.send(r).get();
            }
        }
    }

    void send(FeedbackEvent... events) throws Exception {
        List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
        for (FeedbackEvent e : events) {
            records.add(new ProducerRecord<>(TopicNames.FEEDBACK, e.tenant(), EventCodec.FEEDBACK.encode(e)));
        }
        send(records);
    }

    /** GETs the dataset until {@code done} holds (the writer and the view follow the topics asynchronously). */
    static Response awaitDataset(String adapter, Predicate<Response> done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Response r;
        do {
            r = as(ACME).get("/v1/tenants/acme/adapters/" + adapter + "/examples");
            if (r.statusCode() == 200 && done.test(r)) {
                return r;
            }
            if (r.statusCode() != 200 && r.statusCode() != 503) { // 503: still catching up
                throw new AssertionError("GET dataset " + adapter + ": " + r.statusCode() + " " + r.asString());
            }
            sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("dataset " + adapter + " did not get there: " + r.statusCode() + " " + r.asString());
    }

    static int total(Response r) {
        return r.path("counts.total");
    }

    @Test
    void everyKindOfFeedbackBecomesItsExample() throws Exception {
        String adapter = freshAdapter();
        send(event(adapter, "like", "Tom", " ran.", 1, null),
                event(adapter, "fix", "Tom", " ran.", -1, " sailed."),
                event(adapter, "dislike", "Tom", " fell.", -1, null),
                event(adapter, "meh", "Lily", " sat.", 0, null),
                event(adapter, "better", "Lily", " sat.", 0, " danced."));
        Response r = awaitDataset(adapter, x -> total(x) == 5);
        r.then().body("counts.supervised", equalTo(2)).body("counts.preference", equalTo(1)).body("counts.negative", equalTo(1))
                .body("counts.counted", equalTo(1))
                .body("counts.preference_pairs", equalTo(2)) // the corrected dislike, and the dislike of a prompt with a liked answer
                .body("counts.new_since_training", equalTo(5))
                .body("data.find { it.event_id == 'fix' }.chosen", equalTo(" sailed."))
                .body("data.find { it.event_id == 'fix' }.rejected", equalTo(" ran."))
                .body("data.find { it.event_id == 'like' }.prompt", equalTo("Tom"));
    }

    @Test
    void aRepeatedEventIdCountsOnce() throws Exception {
        String adapter = freshAdapter();
        FeedbackEvent e = event(adapter, "twice", "Tom", " ran.", 1, null);
        send(e, e, event(adapter, "marker", "Tom", " ran.", 1, null));
        awaitDataset(adapter, x -> total(x) == 2);
        assertEquals(2, total(as(ACME).get("/v1/tenants/acme/adapters/" + adapter + "/examples")));
    }

    @Test
    void anUndecodableRecordIsDeadLetteredWithItsReasonAndTheStreamGoesOn() throws Exception {
        String adapter = freshAdapter();
        send(List.of(new ProducerRecord<>(TopicNames.FEEDBACK, "acme", ("{\"adapter\": \"" + adapter + "\"}").getBytes(StandardCharsets.UTF_8))));
        send(event(adapter, "after", "Tom", " ran.", 1, null));
        awaitDataset(adapter, x -> total(x) == 1);
        ConsumerRecord<String, byte[]> dead = awaitRecord(TopicNames.DEAD_LETTER, r -> new String(r.value(), StandardCharsets.UTF_8).contains(adapter));
        String reason = new String(dead.headers().lastHeader(Topics.HEADER_REASON).value(), StandardCharsets.UTF_8);
        assertTrue(reason.startsWith("FeedbackEvent:"), reason);
        assertEquals(TopicNames.FEEDBACK, new String(dead.headers().lastHeader(Topics.HEADER_SOURCE_TOPIC).value(), StandardCharsets.UTF_8));
    }

    @Test
    void examplesAreWrittenOncePerEventUnderTheirKey() throws Exception {
        String adapter = freshAdapter();
        send(event(adapter, "k1", "Tom", " ran.", 1, null), event(adapter, "k2", "Tom", " ran.", -1, null));
        awaitDataset(adapter, x -> total(x) == 2);
        List<String> keys = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : readAll(TopicNames.TRAINING_EXAMPLES)) {
            if (r.key().startsWith("acme/" + adapter + "/")) {
                keys.add(r.key());
            }
        }
        assertEquals(List.of("acme/" + adapter + "/k1", "acme/" + adapter + "/k2"), keys.stream().sorted().toList());
    }

    @Test
    void erasureRemovesATenantsExamples() throws Exception {
        String adapter = freshAdapter();
        send(event(adapter, "e1", "Tom", " ran.", 1, null), event(adapter, "e2", "Tom", " ran.", 1, null));
        awaitDataset(adapter, x -> total(x) == 2);
        as("Bearer globex-key").delete("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(404);
        as(ACME).delete("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(200).body("erased", equalTo(2));
        as(ACME).get("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(200).body("counts.total", equalTo(0));
        long tombstones = readAll(TopicNames.TRAINING_EXAMPLES).stream()
                .filter(r -> r.key().startsWith("acme/" + adapter + "/") && r.value() == null).count();
        assertEquals(2, tombstones);
    }

    @Test
    void datasetsAreTheirTenantsOnly() throws Exception {
        String adapter = freshAdapter();
        send(event(adapter, "mine", "Tom", " ran.", 1, null));
        awaitDataset(adapter, x -> total(x) == 1);
        as("Bearer globex-key").get("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(404)
                .body("error.code", equalTo("not_found"));
        as("Bearer globex-key").get("/v1/tenants/acme/adapters/nothing-here/examples").then().statusCode(404);
        given().get("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(401).body("error.code", equalTo("invalid_api_key"));
        given().delete("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(401);
        as("Bearer operator-key").get("/v1/tenants/acme/adapters/" + adapter + "/examples").then().statusCode(200)
                .body("counts.total", equalTo(1));
        as(ACME).get("/v1/tenants/acme/adapters/bad name!/examples").then().statusCode(400).body("error.code", equalTo("invalid_name"));
    }

    @Test
    void healthIsServedOnTheApiPortAndMetricsAreNot() {
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(404); // on the management interface only: TrainingLimitsTest
    }

    private List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        Map<String, Object> config = new HashMap<>(Map.of("bootstrap.servers", kafka, "isolation.level", "read_committed"));
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = c.endOffsets(partitions);
            while (partitions.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private ConsumerRecord<String, byte[]> awaitRecord(String topic, Predicate<ConsumerRecord<String, byte[]>> match) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
                if (r.value() != null && match.test(r)) {
                    return r;
                }
            }
            sleep(200);
        }
        throw new AssertionError("no matching record on " + topic);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
