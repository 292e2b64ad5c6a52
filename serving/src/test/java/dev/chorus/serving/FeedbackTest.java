package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.ACME_AUTH;
import static dev.chorus.serving.ServingTestSupport.GLOBEX_AUTH;
import static dev.chorus.serving.ServingTestSupport.MODEL;
import static dev.chorus.serving.ServingTestSupport.OPERATOR_AUTH;
import static dev.chorus.serving.ServingTestSupport.as;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** POST /v1/feedback on a real (embedded) broker: what reaches chorus.feedback, tenancy, validation, metrics. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class FeedbackTest {
    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    static Response feedback(String auth, Object body) {
        return as(auth).contentType(ContentType.JSON).body(body).post("/v1/feedback");
    }

    static String complete(String auth, String prompt) {
        return as(auth).contentType(ContentType.JSON).body(Map.of("prompt", prompt, "max_tokens", 8, "temperature", 0))
                .post("/v1/completions").then().statusCode(200).extract().path("id");
    }

    @Test
    void feedbackOnARecentCompletionIsProducedWithItsPromptAndText() {
        Response completion = as(ACME_AUTH).contentType(ContentType.JSON)
                .body(Map.of("prompt", "Tom found a shiny key", "max_tokens", 8, "temperature", 0)).post("/v1/completions");
        String id = completion.path("id");
        String text = completion.path("choices[0].text");
        String eventId = feedback(ACME_AUTH, Map.of("completion_id", id, "rating", -1, "correction", " and smiled.",
                "event_id", "acme-e1", "metadata", Map.of("ui", "thumbs")))
                .then().statusCode(202).body("event_id", equalTo("acme-e1")).extract().path("event_id");
        FeedbackEvent event = awaitEvent(eventId);
        assertEquals("acme", event.tenant());
        assertEquals(id, event.requestId());
        assertEquals("Tom found a shiny key", event.prompt());
        assertEquals(text, event.completion());
        assertEquals(-1, event.rating());
        assertEquals(" and smiled.", event.correction());
        assertEquals(Map.of("ui", "thumbs"), event.metadata());
        assertNull(event.adapter(), "completed on the base model");
    }

    @Test
    void chatAndStreamedCompletionsCanBeRatedToo() {
        String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about Tom\"}], \"max_tokens\": 6, \"temperature\": 0,"
                + " \"stream\": true}";
        String sse = as(ACME_AUTH).contentType(ContentType.JSON).body(body).post("/v1/chat/completions").then().statusCode(200)
                .extract().asString();
        String id = sse.substring(sse.indexOf("\"id\":\"") + 6, sse.indexOf('"', sse.indexOf("\"id\":\"") + 6));
        String eventId = feedback(ACME_AUTH, Map.of("completion_id", id, "rating", 1)).then().statusCode(202)
                .body("event_id", startsWith("fb-")).extract().path("event_id");
        FeedbackEvent event = awaitEvent(eventId);
        assertEquals(List.of(new FeedbackEvent.Message("user", "Tell me about Tom")), event.messages());
        assertNull(event.prompt());
    }

    @Test
    void explicitFeedbackNamesTheModel() {
        String eventId = feedback(ACME_AUTH, Map.of("model", MODEL, "prompt", "Lily had a cat", "completion", " named Tom.", "rating", 1))
                .then().statusCode(202).extract().path("event_id");
        FeedbackEvent event = awaitEvent(eventId);
        assertEquals(" named Tom.", event.completion());
        assertNull(event.requestId());
        feedback(ACME_AUTH, Map.of("model", "not-mine", "prompt", "x", "completion", "y", "rating", 1)).then().statusCode(404)
                .body("error.code", equalTo("model_not_found"));
    }

    @Test
    void anotherTenantsCompletionIsNotFoundLikeAnUnknownOne() {
        String acmes = complete(ACME_AUTH, "Once upon a time");
        Response foreign = feedback(GLOBEX_AUTH, Map.of("completion_id", acmes, "rating", 1));
        Response unknown = feedback(GLOBEX_AUTH, Map.of("completion_id", "cmpl-nope", "rating", 1));
        foreign.then().statusCode(404).body("error.code", equalTo("completion_not_found")).body("error.param", equalTo("completion_id"));
        unknown.then().statusCode(404).body("error.code", equalTo("completion_not_found"));
        assertEquals(foreign.path("error.message").toString().replace(acmes, "ID"),
                unknown.path("error.message").toString().replace("cmpl-nope", "ID"), "the same answer");
    }

    @Test
    void keysAreRequired() {
        given().contentType(ContentType.JSON).body(Map.of("completion_id", "x", "rating", 1)).post("/v1/feedback").then().statusCode(401)
                .header("WWW-Authenticate", equalTo("Bearer")).body("error.code", equalTo("invalid_api_key"));
        feedback("Bearer wrong", Map.of("completion_id", "x", "rating", 1)).then().statusCode(401);
        feedback(OPERATOR_AUTH, Map.of("completion_id", "x", "rating", 1)).then().statusCode(403);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "no rating               | {\"completion_id\": \"c\"}                                              | rating",
        "rating out of range     | {\"completion_id\": \"c\", \"rating\": 2}                               | rating",
        "rating not an integer   | {\"completion_id\": \"c\", \"rating\": 0.5}                             | rating",
        "neither id nor model    | {\"rating\": 1}                                                         | completion_id",
        "id and a prompt         | {\"completion_id\": \"c\", \"prompt\": \"p\", \"rating\": 1}            | prompt",
        "model without prompt    | {\"model\": \"m\", \"completion\": \"c\", \"rating\": 1}                | prompt",
        "prompt and messages     | {\"model\": \"m\", \"prompt\": \"p\", \"messages\": [], \"completion\": \"c\", \"rating\": 1} | messages",
        "model without completion| {\"model\": \"m\", \"prompt\": \"p\", \"rating\": 1}                    | completion",
        "bad event id            | {\"completion_id\": \"c\", \"rating\": 1, \"event_id\": \"a b\"}       | event_id",
        "empty correction        | {\"completion_id\": \"c\", \"rating\": 1, \"correction\": \"\"}        | correction",
        "metadata not strings    | {\"completion_id\": \"c\", \"rating\": 1, \"metadata\": {\"n\": 1}}    | metadata",
    })
    void invalidFeedbackIsA400NamingTheField(String description, String body, String param) {
        feedback(ACME_AUTH, body).then().statusCode(400).body("error.param", equalTo(param)).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void notJsonIsA400() {
        feedback(ACME_AUTH, "{rating").then().statusCode(400).body("error.type", equalTo("invalid_request_error"));
    }

    @Inject
    MeterRegistry registry;

    /** Counted through the registry: /q/metrics after a test-profile restart also scrapes the earlier apps' stale gauges. */
    @Test
    void outcomesAreCounted() {
        double accepted = count("chorus.feedback.accepted", null);
        double notFound = count("chorus.feedback.rejected", "not_found");
        double invalid = count("chorus.feedback.rejected", "invalid_request");
        feedback(ACME_AUTH, Map.of("completion_id", "cmpl-unknown", "rating", 1)).then().statusCode(404);
        feedback(ACME_AUTH, Map.of("completion_id", "c", "rating", 7)).then().statusCode(400);
        feedback(ACME_AUTH, Map.of("model", MODEL, "prompt", "p", "completion", "c", "rating", 0)).then().statusCode(202);
        assertEquals(accepted + 1, count("chorus.feedback.accepted", null));
        assertEquals(notFound + 1, count("chorus.feedback.rejected", "not_found"));
        assertEquals(invalid + 1, count("chorus.feedback.rejected", "invalid_request"));
    }

    private double count(String name, String reason) {
        var search = registry.find(name);
        return (reason == null ? search : search.tag("reason", reason)).counter().count();
    }

    /** Reads chorus.feedback from the beginning until {@code eventId} shows up. */
    static FeedbackEvent awaitEvent(String eventId) {
        String servers = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        Map<String, Object> config = new HashMap<>(Map.of("bootstrap.servers", servers, "enable.auto.commit", "false"));
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(TopicNames.FEEDBACK).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    FeedbackEvent e = EventCodec.FEEDBACK.decode(r.value());
                    if (e.eventId().equals(eventId)) {
                        assertEquals(e.tenant(), r.key(), "keyed by tenant");
                        return e;
                    }
                }
            }
        }
        throw new AssertionError("event " + eventId + " not on " + TopicNames.FEEDBACK);
    }
}
