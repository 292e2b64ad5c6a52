package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.finetune.AdapterTrainer;
import dev.chorus.engine.finetune.Optimization;
import dev.chorus.engine.finetune.TrainingBase;
import dev.chorus.engine.finetune.TrainingExample;
import dev.chorus.engine.finetune.TrainingRun;
import dev.chorus.engine.llama.Projection;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's loop on real processes (broker in process; registry, serving and training as
 * separate processes, default triggers and job settings): a tenant's users rate v1's completions
 * and correct them; a job starts by itself, passes the gate, and v2 is promoted and served, with a
 * lower held-out perplexity on the domain than v1. Then a job fed harmful examples produces a
 * version that is uploaded but not promoted, and serving keeps the old one.
 */
class FeedbackLoopTest {
    static final String ACME_SHA = "afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163";
    static final String GLOBEX_SHA = "f2a455b59b858a04c51108416af2042203cb6ac35fa4141fba4148bc856e78d4";
    static final String OPERATOR_SHA = "c9736463f555cdb7d2a78cfd7aa8b8c4f09d906d78f8dab9228eda30a28c2818";
    static final String ACME = "Bearer acme-key";
    static final String GLOBEX = "Bearer globex-key";
    static final Path MODEL = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final List<String> ANIMALS = List.of("cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck", "cow", "pig", "fox", "owl",
            "bee", "ant", "hen", "goat", "wolf", "deer", "seal", "crab", "mouse", "horse", "sheep", "tiger", "zebra", "snake", "whale",
            "shark", "eagle", "rabbit", "turtle", "monkey", "panda", "koala", "camel", "llama", "otter", "squid", "moose", "bison",
            "goose", "swan", "crow", "mole", "bat", "yak", "lamb", "pony");
    /** Never rated: the test's own held-out set for the perplexity comparison. */
    static final List<String> UNSEEN = List.of("kitten", "puppy", "donkey", "parrot", "beaver", "penguin", "badger", "hamster");

    static String prompt(String animal) {
        return "Tell me about the " + animal + ".";
    }

    /** The synthetic domain: what users want the adapter to say. */
    static String pirate(String animal) {
        return " Arr, the " + animal + " sailed the sea with Captain Tom. Yo ho ho!";
    }

    @Test
    void feedbackTrainsAVersionThatIsServedAndTheGateStopsAHarmfulOne(@TempDir Path dir) throws Exception {
        Path logs = Path.of(System.getProperty("test.build.dir"), "loop-logs");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                Topics.ensure(admin, (short) 1);
            }
            Map<String, String> common = Map.of("chorus.auth.tenants.acme.api-key-sha256", ACME_SHA,
                    "chorus.auth.tenants.globex.api-key-sha256", GLOBEX_SHA, "chorus.auth.admin-key-sha256", OPERATOR_SHA,
                    "chorus.auth.demo-tenant", "false", "kafka.bootstrap.servers", kafka.bootstrapServers());
            Map<String, String> registryConfig = new HashMap<>(common);
            registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
            registryConfig.put("chorus.registry.base-model", MODEL.toString());
            try (Service registry = Service.start("registry", Path.of(System.getProperty("test.registry.jar")), registryConfig, logs)) {
                Map<String, String> servingConfig = new HashMap<>(common);
                servingConfig.put("chorus.model.path", MODEL.toString());
                servingConfig.put("chorus.adapters.source", "registry");
                servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
                servingConfig.put("chorus.adapters.registry-key", "operator-key");
                servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
                Map<String, String> trainingConfig = new HashMap<>(common);
                trainingConfig.put("chorus.training.instance-id", "loop");
                trainingConfig.put("chorus.training.data-directory", dir.resolve("training").toString());
                trainingConfig.put("chorus.training.base-model", MODEL.toString());
                trainingConfig.put("chorus.training.registry.url", registry.url("").toString());
                trainingConfig.put("chorus.training.registry.api-key", "operator-key");
                try (Service serving = Service.start("serving", Path.of(System.getProperty("test.serving.jar")), servingConfig, logs);
                        Service training = Service.start("training", Path.of(System.getProperty("test.training.jar")), trainingConfig, logs);
                        TrainingBase base = TrainingBase.open(MODEL)) {
                    loop(registry, serving, training, base);
                    gate(registry, serving, training, base);
                }
            }
        }
    }

    private void loop(Service registry, Service serving, Service training, TrainingBase base) throws Exception {
        // v1: a small random LoRA, close to the base (the tenant's starting point).
        assertEquals(201, put(registry, "pirate", EndToEndTest.zip(randomLora(base)), null).statusCode());
        awaitServed(serving, "pirate", "pirate@1", 15_000);

        // 48 users each get a completion from v1, dislike it and write what they wanted.
        long lastAccepted = 0;
        for (String animal : ANIMALS) {
            JsonObject completion = complete(serving, "pirate", prompt(animal), 12);
            assertEquals("pirate@1", completion.getString("model"));
            HttpResponse<String> r = post(serving, "/v1/feedback", ACME, new JsonObject().put("completion_id", completion.getString("id"))
                    .put("rating", -1).put("correction", pirate(animal)));
            assertEquals(202, r.statusCode(), r.body());
            assertNotNull(new JsonObject(r.body()).getString("event_id"));
            lastAccepted = System.nanoTime();
        }
        // Tenancy on the new endpoints: another tenant cannot rate acme's completions, see its jobs or its examples.
        String acmeCompletion = complete(serving, "pirate", prompt("cat"), 4).getString("id");
        assertEquals(404, post(serving, "/v1/feedback", GLOBEX, new JsonObject().put("completion_id", acmeCompletion).put("rating", 1))
                .statusCode());
        assertEquals(401, post(serving, "/v1/feedback", null, new JsonObject().put("completion_id", acmeCompletion).put("rating", 1))
                .statusCode());

        JsonObject job = awaitJob(training, "pirate", j -> "succeeded".equals(j.getString("status")) || "failed".equals(j.getString("status")),
                180_000);
        assertEquals("succeeded", job.getString("status"), job.encodePrettily());
        assertEquals("pirate@2", job.getString("fine_tuned_model"));
        assertEquals("pirate@1", job.getString("model"), "continued from the active version");
        assertTrue(job.getJsonObject("chorus").getBoolean("promoted"), job.encodePrettily());
        JsonObject served = awaitServed(serving, "pirate", "pirate@2", 30_000);
        double seconds = (System.nanoTime() - lastAccepted) / 1e9;
        assertEquals(404, get(training, "/v1/fine_tuning/jobs/" + job.getString("id"), GLOBEX).statusCode());
        assertEquals(401, get(training, "/v1/fine_tuning/jobs", null).statusCode());
        assertEquals(404, get(training, "/v1/tenants/acme/adapters/pirate/examples", GLOBEX).statusCode());

        JsonObject v2 = version(registry, "pirate", 2);
        assertEquals(1, v2.getInteger("parent_version"));
        assertEquals(job.getString("id"), v2.getString("job_id"));
        assertTrue(v2.getJsonObject("gate").getBoolean("passed"));
        double v1Ppl = Math.exp(heldOutLoss(base, registry, "pirate", 1));
        double v2Ppl = Math.exp(heldOutLoss(base, registry, "pirate", 2));
        JsonObject metrics = job.getJsonObject("chorus").getJsonObject("metrics");
        System.out.printf(Locale.ROOT, "feedback loop: last feedback 202 -> first completion by v2 in %.1f s; job %s queued to done in "
                + "%d s, trained %.0f new + %.0f replayed examples, %.0f steps in %.1f s; gate held-out loss %.4f (v1 %.4f, %.0f examples); "
                + "unseen-domain perplexity v1 %.2f -> v2 %.2f; v2 says:%s%n", seconds, job.getString("id"),
                job.getLong("finished_at") - job.getLong("created_at"), metrics.getDouble("train_examples"),
                metrics.getDouble("replay_examples"), metrics.getDouble("steps"), metrics.getDouble("train_seconds"),
                metrics.getDouble("held_out_loss"), metrics.getDouble("parent_held_out_loss"), metrics.getDouble("held_out_examples"),
                v1Ppl, v2Ppl, served.getJsonArray("choices").getJsonObject(0).getString("text"));
        assertTrue(v2Ppl < v1Ppl, "v2 fits the domain better than v1 on prompts nobody rated: " + v2Ppl + " vs " + v1Ppl);
    }

    /**
     * A strong v1 (trained here), then feedback whose corrections are v1's own answers with their
     * words shuffled: the job's version is worse on the held-out set, so it is uploaded, not promoted.
     */
    private void gate(Service registry, Service serving, Service training, TrainingBase base) throws Exception {
        List<TrainingExample> domain = ANIMALS.stream().map(a -> new TrainingExample(prompt(a), pirate(a))).toList();
        assertEquals(201, put(registry, "parrot", EndToEndTest.zip(trained(base, domain)), null).statusCode());
        awaitServed(serving, "parrot", "parrot@1", 15_000);
        Random random = new Random(7);
        int sent = 0;
        int harmful = 0;
        // Clean corrections land in the held-out set (their event ids are chosen so), harmful ones in the training set.
        for (int i = 0; harmful < 40; i++) {
            String animal = ANIMALS.get(i % ANIMALS.size());
            String eventId = "gate-" + i;
            boolean heldOut = dev.chorus.kafka.TrainingExample.heldOut("acme", "parrot", eventId);
            String correction = heldOut ? pirate(animal) : shuffledWords(pirate(animal), random);
            if (!heldOut && harmful >= 40 || heldOut && sent - harmful >= 6) {
                continue;
            }
            HttpResponse<String> r = post(serving, "/v1/feedback", ACME, new JsonObject().put("model", "parrot").put("prompt", prompt(animal))
                    .put("completion", " The " + animal + " slept.").put("rating", -1).put("correction", correction).put("event_id", eventId));
            assertEquals(202, r.statusCode(), r.body());
            sent++;
            harmful += heldOut ? 0 : 1;
        }
        JsonObject job = awaitJob(training, "parrot", j -> "succeeded".equals(j.getString("status")) || "failed".equals(j.getString("status")),
                180_000);
        assertEquals("succeeded", job.getString("status"), job.encodePrettily());
        assertFalse(job.getJsonObject("chorus").getBoolean("promoted"), "the gate keeps the harmful version out: " + job.encodePrettily());
        JsonObject v2 = version(registry, "parrot", 2);
        assertFalse(v2.getJsonObject("gate").getBoolean("passed"), v2.encodePrettily());
        assertTrue(v2.getJsonObject("gate").getString("reason").contains("worse"), v2.encodePrettily());
        assertEquals(1, new JsonObject(get(registry, "/v1/tenants/acme/adapters/parrot", ACME).body()).getInteger("active_version"));
        assertEquals("parrot@1", complete(serving, "parrot", prompt("cat"), 8).getString("model"), "serving keeps the old version");
        System.out.printf(Locale.ROOT, "gate: harmful version held-out loss %.4f vs active %.4f: uploaded as parrot@2, not promoted%n",
                job.getJsonObject("chorus").getJsonObject("metrics").getDouble("held_out_loss"),
                job.getJsonObject("chorus").getJsonObject("metrics").getDouble("parent_held_out_loss"));
    }

    static String shuffledWords(String text, Random random) {
        List<String> words = new ArrayList<>(List.of(text.trim().split(" ")));
        Collections.shuffle(words, random);
        return " " + String.join(" ", words);
    }

    /** Mean loss per completion token, under version {@code v} as the registry stores it, on the unseen animals. */
    private double heldOutLoss(TrainingBase base, Service registry, String name, int v) throws Exception {
        String sha = version(registry, name, v).getString("sha256");
        HttpResponse<byte[]> blob = HTTP.send(HttpRequest.newBuilder(registry.url("/v1/blobs/" + sha)).header("Authorization", ACME).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        Path dirOf = Files.createTempDirectory("chorus-loop-v" + v + "-");
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(blob.body()))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                Files.copy(in, dirOf.resolve(Path.of(e.getName()).getFileName().toString()));
            }
        }
        Adapter adapter = base.readAdapter(dirOf, 64);
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            return base.loss(adapter, UNSEEN.stream().map(a -> new TrainingExample(prompt(a), pirate(a))).toList(), manager);
        }
    }

    static Adapter randomLora(TrainingBase base) {
        return dev.chorus.engine.adapter.RandomAdapters.generate(base.config(), AdapterType.LORA, 8, EnumSet.allOf(Projection.class), 0.02, 1,
                base.fingerprint());
    }

    /** A LoRA trained well on {@code data} (so a harmful update has something to lose). */
    static Adapter trained(TrainingBase base, List<TrainingExample> data) {
        TrainingRun run = new TrainingRun(AdapterKind.of(AdapterType.LORA, 8, 16f, () -> 0), EnumSet.allOf(Projection.class), 200, 3);
        Optimization o = new Optimization(2e-3f, Optimization.Decay.COSINE, 20, 0.01f, 1f, 8, 1, 0, 0);
        try (NDManager manager = Engine.getInstance().newBaseManager(); AdapterTrainer trainer = base.trainer(run, o, null, manager)) {
            return trainer.train(data, List.of(), p -> { }).adapter();
        }
    }

    private JsonObject awaitServed(Service serving, String model, String expected, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        JsonObject last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = post(serving, "/v1/completions", ACME, new JsonObject().put("model", model).put("prompt", prompt("cat"))
                    .put("max_tokens", 16).put("temperature", 0));
            last = new JsonObject(r.body()); // 404 until serving's catalogue has the adapter
            if (r.statusCode() == 200 && expected.equals(last.getString("model"))) {
                return last;
            }
            Service.sleep(100);
        }
        throw new AssertionError("serving did not run " + expected + " within " + millis + " ms; last answer: " + last);
    }

    private JsonObject awaitJob(Service training, String adapter, Predicate<JsonObject> done, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        JsonObject last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get(training, "/v1/fine_tuning/jobs", ACME);
            assertEquals(200, r.statusCode(), r.body());
            for (Object o : new JsonObject(r.body()).getJsonArray("data")) {
                JsonObject j = (JsonObject) o;
                if (adapter.equals(j.getJsonObject("chorus").getString("adapter"))) {
                    last = j;
                    if (done.test(j)) {
                        return j;
                    }
                    break; // newest first: the newest job of the adapter is the one to watch
                }
            }
            Service.sleep(250);
        }
        throw new AssertionError("no finished job of " + adapter + " within " + millis + " ms; last seen: " + last);
    }

    private static JsonObject version(Service registry, String name, int v) throws Exception {
        HttpResponse<String> r = get(registry, "/v1/tenants/acme/adapters/" + name + "/versions/" + v, ACME);
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body());
    }

    private static JsonObject complete(Service serving, String model, String prompt, int tokens) throws Exception {
        HttpResponse<String> r = post(serving, "/v1/completions", ACME, new JsonObject().put("model", model).put("prompt", prompt)
                .put("max_tokens", tokens).put("temperature", 0));
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body());
    }

    private static HttpResponse<String> put(Service registry, String name, byte[] zip, String provenance) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/" + name)).header("Authorization", ACME)
                .header("Content-Type", "application/zip").PUT(HttpRequest.BodyPublishers.ofByteArray(zip));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(Service service, String path, String auth, JsonObject body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(service.url(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.encode()));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(Service service, String path, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(service.url(path)).GET();
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
