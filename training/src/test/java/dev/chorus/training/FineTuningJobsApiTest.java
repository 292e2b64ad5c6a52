package dev.chorus.training;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.TrainingJobEvent;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Creating jobs through OpenAI's API (no runner here: jobs stay queued): request checks with the
 * parameter named, the validating_files step, events, checkpoints, cancel and tenancy.
 */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class FineTuningJobsApiTest {
    static final String ACME = FilesApiTest.ACME;
    static final String GLOBEX = FilesApiTest.GLOBEX;
    static final String BASE = "TinyStories-656K";

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

    static String file(String auth, String content) {
        return FilesApiTest.upload(auth, "pirate-talk.jsonl", content).then().statusCode(200).extract().path("id");
    }

    static Response create(String auth, JsonObject body) {
        return FilesApiTest.as(auth).contentType("application/json").body(body.encode()).post("/v1/fine_tuning/jobs");
    }

    JsonObject await(String auth, String id, Predicate<JsonObject> done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        JsonObject job;
        do {
            job = new JsonObject(FilesApiTest.as(auth).get("/v1/fine_tuning/jobs/" + id).asString());
            if (done.test(job)) {
                return job;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("job never got there: " + job.encodePrettily());
    }

    @Test
    void aJobValidatesItsFilesThenQueuesInOpenAisShape() throws Exception {
        String training = file(ACME, FilesApiTest.SUPERVISED);
        JsonObject body = new JsonObject().put("model", BASE).put("training_file", training).put("seed", 42)
                .put("metadata", new JsonObject().put("team", "support"))
                .put("method", new JsonObject().put("type", "supervised").put("supervised", new JsonObject()
                        .put("hyperparameters", new JsonObject().put("n_epochs", 2).put("batch_size", "auto"))));
        Response created = create(ACME, body);
        created.then().statusCode(200).body("object", equalTo("fine_tuning.job")).body("status", equalTo("validating_files"))
                .body("model", equalTo(BASE)).body("training_file", equalTo(training)).body("validation_file", nullValue())
                .body("seed", equalTo(42)).body("metadata.team", equalTo("support")).body("method.type", equalTo("supervised"))
                .body("method.supervised.hyperparameters.n_epochs", equalTo(2)).body("hyperparameters.batch_size", equalTo(8))
                .body("chorus.adapter", equalTo("pirate-talk")) // the adapter is named after the file
                .body("fine_tuned_model", nullValue()).body("error", nullValue()).body("result_files.size()", equalTo(0));
        String id = created.path("id");
        JsonObject queued = await(ACME, id, j -> !"validating_files".equals(j.getString("status")));
        assertEquals("queued", queued.getString("status"), queued.encodePrettily());

        List<String> messages = new ArrayList<>();
        Response events = FilesApiTest.as(ACME).get("/v1/fine_tuning/jobs/" + id + "/events");
        events.then().statusCode(200).body("object", equalTo("list")).body("has_more", equalTo(false))
                .body("data[0].object", equalTo("fine_tuning.job.event")).body("data[0].type", equalTo("message"))
                .body("data[0].level", equalTo("info"));
        messages.addAll(events.path("data.message"));
        assertEquals(List.of("Files validated, moving job to queued state", "Validating training file " + training), messages,
                "newest first");
        String newest = events.path("data[0].id");
        Response older = FilesApiTest.as(ACME).get("/v1/fine_tuning/jobs/" + id + "/events?limit=1&after=" + newest);
        older.then().statusCode(200).body("data.size()", equalTo(1)).body("has_more", equalTo(false))
                .body("data[0].message", containsString("Validating"));
        FilesApiTest.as(ACME).get("/v1/fine_tuning/jobs/" + id + "/events?limit=1").then().body("has_more", equalTo(true));
        FilesApiTest.as(ACME).get("/v1/fine_tuning/jobs/" + id + "/checkpoints").then().statusCode(200)
                .body("object", equalTo("list")).body("data.size()", equalTo(0)).body("has_more", equalTo(false));

        // Tenancy: another tenant's job is a 404 on every endpoint, no key a 401.
        for (String path : List.of("", "/events", "/checkpoints")) {
            FilesApiTest.as(GLOBEX).get("/v1/fine_tuning/jobs/" + id + path).then().statusCode(404).body("error.code", equalTo("not_found"));
            FilesApiTest.as(null).get("/v1/fine_tuning/jobs/" + id + path).then().statusCode(401);
        }
        FilesApiTest.as(GLOBEX).post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(404);
        FilesApiTest.as(null).post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(401);
        create(null, body).then().statusCode(401);

        // A queued job cancelled never runs; cancelling it again is a conflict.
        FilesApiTest.as(ACME).post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200).body("status", equalTo("cancelled"))
                .body("finished_at", org.hamcrest.Matchers.notNullValue());
        FilesApiTest.as(ACME).post("/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(409)
                .body("error.code", equalTo("job_not_cancellable")).body("error.type", equalTo("invalid_request_error"));
        assertEquals(TrainingJobEvent.State.CANCELLED, jobs.get(id).orElseThrow().state());
        FilesApiTest.as(ACME).get("/v1/fine_tuning/jobs/" + id + "/events?limit=1").then().body("data[0].message",
                equalTo("Job cancelled: cancelled by the caller"));
    }

    @Test
    void aRunnersLaterProgressDoesNotBringACancelledJobBack() {
        TrainingJobEvent queued = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "late", null, 1, Instant.now()));
        jobs.cancel(queued.jobId(), "test");
        org.junit.jupiter.api.Assertions.assertThrows(JobEndedException.class,
                () -> jobs.publish(queued.running("here", 1, 10, 2.0, Instant.now())));
        org.junit.jupiter.api.Assertions.assertThrows(JobEndedException.class, () -> jobs.committing(queued.jobId()));
        assertEquals(TrainingJobEvent.State.CANCELLED, jobs.get(queued.jobId()).orElseThrow().state());
    }

    @Test
    void aPreferenceFileForASupervisedJobFailsValidationNamingTheParameter() throws Exception {
        String prefs = file(ACME, FilesApiTest.PREFERENCE);
        String id = create(ACME, new JsonObject().put("model", BASE).put("training_file", prefs).put("suffix", "prefs"))
                .then().statusCode(200).extract().path("id");
        JsonObject failed = await(ACME, id, j -> "failed".equals(j.getString("status")));
        assertEquals("invalid_training_file", failed.getJsonObject("error").getString("code"));
        assertEquals("training_file", failed.getJsonObject("error").getString("param"));
        assertTrue(failed.getJsonObject("error").getString("message").contains("preference pairs"), failed.encodePrettily());
        // The same file is what DPO trains on; a supervised validation file for it is not.
        String supervised = file(ACME, FilesApiTest.SUPERVISED);
        String dpo = create(ACME, new JsonObject().put("model", BASE).put("training_file", prefs).put("validation_file", supervised)
                .put("method", new JsonObject().put("type", "dpo").put("dpo", new JsonObject().put("hyperparameters",
                        new JsonObject().put("beta", 0.2))))).then().statusCode(200).body("method.dpo.hyperparameters.beta", equalTo(0.2f))
                .extract().path("id");
        JsonObject dpoFailed = await(ACME, dpo, j -> "failed".equals(j.getString("status")));
        assertEquals("validation_file", dpoFailed.getJsonObject("error").getString("param"), dpoFailed.encodePrettily());
    }

    @Test
    void badRequestsNameTheParameter() {
        String training = file(ACME, FilesApiTest.SUPERVISED);
        String globexFile = file(GLOBEX, FilesApiTest.SUPERVISED);
        JsonObject ok = new JsonObject().put("model", BASE).put("training_file", training);
        Map<String, JsonObject> cases = Map.ofEntries(
                Map.entry("model", ok.copy().put("model", "not a model!")),
                Map.entry("training_file", ok.copy().remove("training_file") == null ? ok : ok.copy().put("training_file", 7)),
                Map.entry("suffix", ok.copy().put("suffix", "x".repeat(65))),
                Map.entry("seed", ok.copy().put("seed", "seven")),
                Map.entry("metadata", ok.copy().put("metadata", new JsonObject().put("k".repeat(65), "v"))),
                Map.entry("method.type", ok.copy().put("method", new JsonObject().put("type", "reinforcement"))),
                Map.entry("hyperparameters.n_epochs", ok.copy().put("hyperparameters", new JsonObject().put("n_epochs", 0))),
                Map.entry("method.supervised.hyperparameters.beta", ok.copy().put("method", new JsonObject().put("type", "supervised")
                        .put("supervised", new JsonObject().put("hyperparameters", new JsonObject().put("beta", 0.1))))),
                Map.entry("method.dpo.hyperparameters.learning_rate_multiplier", ok.copy().put("method", new JsonObject().put("type", "dpo")
                        .put("dpo", new JsonObject().put("hyperparameters", new JsonObject().put("learning_rate_multiplier", -1))))));
        cases.forEach((param, body) -> create(ACME, body).then().statusCode(400).body("error.param", equalTo(param))
                .body("error.type", equalTo("invalid_request_error")));
        JsonObject tooMuch = new JsonObject();
        for (int i = 0; i < 17; i++) {
            tooMuch.put("k" + i, "v");
        }
        create(ACME, ok.copy().put("metadata", tooMuch)).then().statusCode(400).body("error.param", equalTo("metadata"));
        create(ACME, ok.copy().put("metadata", new JsonObject().put("k", "v".repeat(513)))).then().statusCode(400)
                .body("error.param", equalTo("metadata"));
        // Another tenant's file is the same 404 as a missing one.
        create(ACME, ok.copy().put("training_file", globexFile)).then().statusCode(404).body("error.param", equalTo("training_file"))
                .body("error.code", equalTo("not_found"));
        create(ACME, ok.copy().put("training_file", "file-nosuchfile")).then().statusCode(404).body("error.param", equalTo("training_file"));
        create(ACME, ok.copy().put("validation_file", globexFile)).then().statusCode(404).body("error.param", equalTo("validation_file"));
        FilesApiTest.as(ACME).contentType("application/json").body("[1, 2").post("/v1/fine_tuning/jobs").then().statusCode(400);
        create("Bearer operator-key", ok).then().statusCode(400).body("error.code", equalTo("tenant_key_required"));
        // The legacy top-level hyperparameters are read too; an adapter model continues it under its name.
        create(ACME, ok.copy().put("model", "pirate@3").put("hyperparameters", new JsonObject().put("n_epochs", 3)
                .put("learning_rate_multiplier", 0.5))).then().statusCode(200).body("hyperparameters.n_epochs", equalTo(3))
                .body("hyperparameters.learning_rate_multiplier", equalTo(0.5f)).body("chorus.adapter", equalTo("pirate"))
                .body("chorus.from_version", equalTo(3)).body("model", equalTo("pirate@3"));
    }
}
