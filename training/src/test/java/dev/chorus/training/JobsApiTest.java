package dev.chorus.training;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.TrainingJobEvent;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Job states on the topic, the fine-tuning jobs API over them, and recovery of jobs a restart interrupted. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class JobsApiTest {
    static final String ACME = "Bearer acme-key";
    static final String GLOBEX = "Bearer globex-key";
    static final String OPERATOR = "Bearer operator-key";

    @EmbeddedKafkaResource.BootstrapServers
    String kafka;

    @Inject
    Jobs jobs;

    @BeforeEach
    void awaitJobs() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!jobs.ready() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(jobs.ready(), "the jobs view rebuilt");
    }

    static Response get(String auth, String path) {
        return given().header("Authorization", auth).get(path);
    }

    @Test
    void aJobReadsInOpenAisShapeThroughItsLife() {
        Instant t0 = Instant.parse("2026-12-01T10:00:00Z");
        TrainingJobEvent queued = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "pirate", 2, 1, t0));
        String path = "/v1/fine_tuning/jobs/" + queued.jobId();
        get(ACME, path).then().statusCode(200)
                .body("object", equalTo("fine_tuning.job")).body("id", equalTo(queued.jobId()))
                .body("model", equalTo("pirate@2")).body("status", equalTo("queued"))
                .body("created_at", equalTo((int) t0.getEpochSecond())).body("finished_at", nullValue())
                .body("fine_tuned_model", nullValue()).body("error", nullValue()).body("metadata.trigger", equalTo("feedback"));
        TrainingJobEvent running = jobs.publish(queued.running("elsewhere", 40, 100, 2.25, t0.plusSeconds(5)));
        get(ACME, path).then().statusCode(200).body("status", equalTo("running"))
                .body("chorus.step", equalTo(40)).body("chorus.total_steps", equalTo(100)).body("chorus.loss", equalTo(2.25f));
        jobs.publish(running.succeeded(3, true, Map.of("held_out_loss", 1.5, "active_held_out_loss", 1.75), 12345L,
                t0.minusSeconds(1), t0.plusSeconds(9)));
        get(ACME, path).then().statusCode(200).body("status", equalTo("succeeded"))
                .body("fine_tuned_model", equalTo("pirate@3")).body("finished_at", equalTo((int) t0.plusSeconds(9).getEpochSecond()))
                .body("trained_tokens", equalTo(12345)).body("chorus.promoted", equalTo(true))
                .body("chorus.metrics.held_out_loss", equalTo(1.5f)).body("chorus.adapter", equalTo("pirate"));
        assertEquals(t0.minusSeconds(1), jobs.trainedThrough("acme", "pirate").orElseThrow(), "the marker comes from the succeeded job");
    }

    @Test
    void aTenantSeesOnlyItsJobsAndOperatorsSeeAll() {
        Instant at = Instant.parse("2026-12-01T11:00:00Z");
        TrainingJobEvent globex = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "globex", "secret", null, 1, at));
        TrainingJobEvent acme = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "pirate", null, 1, at));
        get(ACME, "/v1/fine_tuning/jobs/" + globex.jobId()).then().statusCode(404).body("error.code", equalTo("not_found"));
        get(ACME, "/v1/fine_tuning/jobs/ftjob-nosuchjob").then().statusCode(404);
        get(GLOBEX, "/v1/fine_tuning/jobs/" + globex.jobId()).then().statusCode(200).body("model", equalTo("secret"));
        get(OPERATOR, "/v1/fine_tuning/jobs/" + globex.jobId()).then().statusCode(200);
        get(ACME, "/v1/fine_tuning/jobs?limit=100").then().statusCode(200)
                .body("data.organization_id", everyItem(equalTo("acme"))).body("data.id", hasItem(acme.jobId()))
                .body("data.id", not(hasItem(globex.jobId())));
        get(OPERATOR, "/v1/fine_tuning/jobs?limit=100").then().statusCode(200).body("data.id", hasItem(globex.jobId()))
                .body("data.id", hasItem(acme.jobId()));
        get(ACME, "/v1/fine_tuning/jobs?after=" + globex.jobId()).then().statusCode(404);
        given().get("/v1/fine_tuning/jobs").then().statusCode(401);
        given().get("/v1/fine_tuning/jobs/" + acme.jobId()).then().statusCode(401);
        get(ACME, "/v1/fine_tuning/jobs?limit=0").then().statusCode(400);
        get(ACME, "/v1/fine_tuning/jobs?limit=x").then().statusCode(400);
    }

    @Test
    void pagesGoNewestFirstWithAfterAndHasMore() {
        // Created far in the future, so these three are globex's newest whatever other tests wrote.
        Instant future = Instant.parse("2100-01-01T00:00:00Z");
        String oldest = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "globex", "p1", null, 1, future)).jobId();
        String middle = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "globex", "p2", null, 1, future.plusSeconds(1))).jobId();
        String newest = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "globex", "p3", null, 1, future.plusSeconds(2))).jobId();
        Response first = get(GLOBEX, "/v1/fine_tuning/jobs?limit=2");
        first.then().statusCode(200).body("object", equalTo("list")).body("has_more", equalTo(true));
        assertEquals(List.of(newest, middle), first.path("data.id"));
        Response second = get(GLOBEX, "/v1/fine_tuning/jobs?limit=1&after=" + middle);
        assertEquals(List.of(oldest), second.path("data.id"));
        Response all = get(GLOBEX, "/v1/fine_tuning/jobs?limit=100");
        all.then().body("has_more", equalTo(false));
    }

    @Test
    void aSchemaOneRecordStillShows() throws Exception {
        String id = Jobs.newId();
        String v1 = "{\"schemaVersion\":1,\"jobId\":\"" + id + "\",\"tenant\":\"acme\",\"adapter\":\"old\",\"state\":\"FAILED\","
                + "\"fromVersion\":1,\"producedVersion\":null,\"step\":3,\"totalSteps\":9,\"loss\":2.0,\"message\":\"out of memory\","
                + "\"at\":\"2026-11-29T10:15:30Z\"}";
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(TopicNames.TRAINING_JOBS, id, v1.getBytes(StandardCharsets.UTF_8))).get();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Response r;
        do {
            r = get(ACME, "/v1/fine_tuning/jobs/" + id);
        } while (r.statusCode() == 404 && System.nanoTime() < deadline);
        r.then().statusCode(200).body("status", equalTo("failed")).body("error.code", equalTo("failed"))
                .body("error.message", equalTo("out of memory")).body("chorus.attempt", equalTo(1));
    }

    @Test
    void aJobInterruptedByARestartFailsAndIsQueuedAgainOnce() {
        Instant at = Instant.now();
        TrainingJobEvent first = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "crashy", 1, 1, at)
                .running(jobs.instanceId(), 5, 50, 3.0, at));
        TrainingJobEvent elsewhere = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "other", 1, 1, at)
                .running("another-instance", 5, 50, 3.0, at));
        jobs.recover(); // what start-up does once the view is rebuilt
        get(ACME, "/v1/fine_tuning/jobs/" + first.jobId()).then().statusCode(200).body("status", equalTo("failed"))
                .body("error.code", equalTo("interrupted"));
        get(ACME, "/v1/fine_tuning/jobs/" + elsewhere.jobId()).then().body("status", equalTo("running"));
        TrainingJobEvent again = jobs.unfinished("acme", "crashy").orElseThrow();
        assertEquals(TrainingJobEvent.State.QUEUED, again.state());
        assertEquals(2, again.attempt());
        assertEquals(1, again.fromVersion());

        jobs.publish(again.running(jobs.instanceId(), 1, 50, 3.0, Instant.now()));
        jobs.recover();
        get(ACME, "/v1/fine_tuning/jobs/" + again.jobId()).then().body("status", equalTo("failed"));
        assertTrue(jobs.unfinished("acme", "crashy").isEmpty(), "the second interruption is final");
    }

    @Test
    void aJobWhoseInstanceWentAwayFailsAfterStaleAfterAndIsQueuedAgain() {
        Instant at = Instant.now();
        TrainingJobEvent lost = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "orphan", 2, 1, at)
                .running("a-gone-instance", 5, 50, 3.0, at));
        TrainingJobEvent mine = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "mine", 2, 1, at)
                .running(jobs.instanceId(), 5, 50, 3.0, at));
        jobs.sweepStale(at.plus(Duration.ofMinutes(29)));
        get(ACME, "/v1/fine_tuning/jobs/" + lost.jobId()).then().body("status", equalTo("running"));
        jobs.sweepStale(at.plus(Duration.ofMinutes(31))); // the default stale-after is 30 min
        get(ACME, "/v1/fine_tuning/jobs/" + lost.jobId()).then().body("status", equalTo("failed"))
                .body("error.code", equalTo("interrupted")).body("error.message", containsString("a-gone-instance"));
        TrainingJobEvent again = jobs.unfinished("acme", "orphan").orElseThrow();
        assertEquals(TrainingJobEvent.State.QUEUED, again.state());
        assertEquals(2, again.attempt());
        get(ACME, "/v1/fine_tuning/jobs/" + mine.jobId()).then().body("status", equalTo("running"));
        jobs.publish(mine.failed("test", "done", Instant.now())); // this instance knows what it runs; tidy up
    }
}
