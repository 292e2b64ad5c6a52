package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.Projection;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path on real parts: an embedded Kafka broker, the registry and serving as separate
 * processes. A tenant uploads v1 and completes with it; v2 is uploaded and promoted while streams
 * run on v1; a restarted serving process rebuilds the same catalogue and gives the same answers.
 */
class EndToEndTest {
    // echo -n acme-key | sha256sum; echo -n operator-key | sha256sum
    static final String ACME_SHA = "afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163";
    static final String OPERATOR_SHA = "c9736463f555cdb7d2a78cfd7aa8b8c4f09d906d78f8dab9228eda30a28c2818";
    static final String ACME = "Bearer acme-key";
    static final Path MODEL = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    /** Each stream is read on its own thread (the common pool may have a single one). */
    static final java.util.concurrent.ExecutorService READERS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "e2e-stream-reader");
        t.setDaemon(true);
        return t;
    });

    @Test
    void uploadCompletePromoteHotSwapAndRestart(@TempDir Path dir) throws Exception {
        Path logs = Path.of(System.getProperty("test.build.dir"), "e2e-logs");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                Topics.ensure(admin, (short) 1);
            }
            Map<String, String> auth = Map.of("chorus.auth.tenants.acme.api-key-sha256", ACME_SHA,
                    "chorus.auth.admin-key-sha256", OPERATOR_SHA, "chorus.auth.demo-tenant", "false",
                    "kafka.bootstrap.servers", kafka.bootstrapServers());
            Map<String, String> registryConfig = new HashMap<>(auth);
            registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
            registryConfig.put("chorus.registry.base-model", MODEL.toString());
            Path registryJar = Path.of(System.getProperty("test.registry.jar"));
            String catalogue;
            try (Service registry = Service.start("registry", registryJar, registryConfig, logs)) {
                Map<String, String> servingConfig = new HashMap<>(auth);
                servingConfig.put("chorus.model.path", MODEL.toString());
                servingConfig.put("chorus.adapters.source", "registry");
                servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
                servingConfig.put("chorus.adapters.registry-key", "operator-key");
                servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
                Path servingJar = Path.of(System.getProperty("test.serving.jar"));
                Service serving = Service.start("serving", servingJar, servingConfig, logs);
                try {
                    serving = scenario(registry, serving, servingJar, servingConfig, logs);
                } finally {
                    serving.close();
                }
                catalogue = listing(registry);
            }
            // A new registry process on the same topic and blob directory rebuilds the same catalogue.
            try (Service restarted = Service.start("registry", registryJar, registryConfig, logs)) {
                assertEquals(catalogue, listing(restarted));
                assertTrue(catalogue.contains("\"active_version\":2"), catalogue);
            }
        }
    }

    private Service scenario(Service registry, Service serving, Path servingJar, Map<String, String> servingConfig, Path logs)
            throws Exception {
        assertEquals(201, upload(registry, "pirate", 1).statusCode());
        JsonObject first = awaitModel(serving, "pirate", "pirate@1", 10_000);
        String v1Text = complete(serving, "pirate", 300).getJsonArray("choices").getJsonObject(0).getString("text");
        assertNotEquals(complete(serving, null, 300).getJsonArray("choices").getJsonObject(0).getString("text"), v1Text,
                "the adapter changes the output");
        assertTrue(first.getString("model").equals("pirate@1"));

        List<CompletableFuture<JsonObject>> streams = new ArrayList<>();
        List<CompletableFuture<Void>> started = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            CompletableFuture<Void> firstChunk = new CompletableFuture<>();
            started.add(firstChunk);
            streams.add(stream(serving, "pirate", 300, firstChunk));
        }
        CompletableFuture.allOf(started.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

        HttpResponse<String> v2 = upload(registry, "pirate", 2);
        assertEquals(201, v2.statusCode(), v2.body());
        assertEquals(1, new JsonObject(v2.body()).getInteger("active_version"), "an upload alone does not switch");
        long promoted = System.nanoTime();
        HttpResponse<String> promote = send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/pirate/promote"))
                .header("Authorization", ACME).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"version\": 2}")).build());
        assertEquals(200, promote.statusCode(), promote.body());
        long promoteMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - promoted);
        awaitModel(serving, "pirate", "pirate@2", 5_000);
        long switchMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - promoted);
        System.out.println("end-to-end: promote answered in " + promoteMillis + " ms, serving ran v2 " + switchMillis + " ms after the promote");
        assertTrue(switchMillis <= 2_000, "new requests use v2 within 2 s of the promote, took " + switchMillis + " ms (the promote call "
                + promoteMillis + " ms)");

        for (CompletableFuture<JsonObject> s : streams) {
            JsonObject result = s.get(60, TimeUnit.SECONDS);
            assertNull(result.getString("error"), "no stream fails");
            assertEquals("pirate@1", result.getString("model"), "streams started on v1 finish on v1");
            assertEquals(v1Text, result.getString("text"));
        }

        // Restart serving: the catalogue comes back from Kafka alone, the answers are the same.
        JsonArray modelsBefore = adapters(serving);
        String v2Text = complete(serving, "pirate", 64).getJsonArray("choices").getJsonObject(0).getString("text");
        serving.close();
        Service restarted = Service.start("serving", servingJar, servingConfig, logs);
        assertEquals(modelsBefore, adapters(restarted), "same catalogue after a restart");
        assertEquals(v2Text, complete(restarted, "pirate", 64).getJsonArray("choices").getJsonObject(0).getString("text"));
        assertEquals(v1Text, complete(restarted, "pirate@1", 300).getJsonArray("choices").getJsonObject(0).getString("text"));
        return restarted;
    }

    /** Polls completions on {@code model} until serving answers with {@code expected} as the model that ran. */
    private JsonObject awaitModel(Service serving, String model, String expected, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        JsonObject last = null;
        while (System.nanoTime() < deadline) {
            last = complete(serving, model, 4);
            if (expected.equals(last.getString("model"))) {
                return last;
            }
            Service.sleep(50);
        }
        throw new AssertionError("serving did not run " + expected + " within " + millis + " ms; last answer: " + last);
    }

    private JsonObject complete(Service serving, String model, int tokens) throws Exception {
        JsonObject body = new JsonObject().put("prompt", "Tom found a shiny key").put("max_tokens", tokens).put("temperature", 0);
        if (model != null) {
            body.put("model", model);
        }
        HttpResponse<String> r = send(HttpRequest.newBuilder(serving.url("/v1/completions")).header("Authorization", ACME)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode())).build());
        JsonObject json = new JsonObject(r.body());
        return r.statusCode() == 200 ? json : json.put("model", "status " + r.statusCode());
    }

    /** A streamed completion: its text, the model that ran and any in-band error, once it ends. */
    private CompletableFuture<JsonObject> stream(Service serving, String model, int tokens, CompletableFuture<Void> firstChunk) {
        JsonObject body = new JsonObject().put("prompt", "Tom found a shiny key").put("max_tokens", tokens).put("temperature", 0)
                .put("model", model).put("stream", true);
        HttpRequest request = HttpRequest.newBuilder(serving.url("/v1/completions")).header("Authorization", ACME)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode())).build();
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines()).thenApplyAsync(response -> {
            StringBuilder text = new StringBuilder();
            JsonObject result = new JsonObject();
            response.body().filter(l -> l.startsWith("data: {")).forEach(line -> {
                JsonObject chunk = new JsonObject(line.substring(6));
                if (chunk.containsKey("error")) {
                    result.put("error", chunk.encode());
                    return;
                }
                result.put("model", chunk.getString("model"));
                text.append(chunk.getJsonArray("choices").getJsonObject(0).getString("text"));
                firstChunk.complete(null);
            });
            firstChunk.complete(null);
            return result.put("text", text.toString());
        }, READERS);
    }

    private JsonArray adapters(Service serving) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(serving.url("/v1/models")).header("Authorization", ACME).GET().build());
        JsonArray out = new JsonArray();
        for (Object o : new JsonObject(r.body()).getJsonArray("data")) {
            JsonObject m = (JsonObject) o;
            out.add(new JsonObject().put("id", m.getString("id")).put("versions", m.getValue("versions"))
                    .put("active_version", m.getValue("active_version")));
        }
        return out;
    }

    private String listing(Service registry) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters")).header("Authorization", ACME).GET().build());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private HttpResponse<String> upload(Service registry, String name, long seed) throws Exception {
        return send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/" + name)).header("Authorization", ACME)
                .header("Content-Type", "application/zip").PUT(HttpRequest.BodyPublishers.ofByteArray(adapterZip(seed))).build());
    }

    private static HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** A random LoRA for the base model, zipped as a client would upload it. */
    static byte[] adapterZip(long seed) throws IOException {
        return zip(RandomAdapters.generate(HfCheckpoint.readConfig(MODEL), AdapterType.LORA, 8, EnumSet.allOf(Projection.class), 0.2, seed,
                null));
    }

    /** {@code adapter}'s two PEFT files in a zip, as a client uploads them. */
    static byte[] zip(dev.chorus.engine.adapter.Adapter adapter) throws IOException {
        Path dir = Files.createTempDirectory("chorus-e2e-adapter-");
        AdapterFiles.write(adapter, dir.resolve("a"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (String file : List.of(AdapterFiles.CONFIG, AdapterFiles.WEIGHTS)) {
                zip.putNextEntry(new ZipEntry(file));
                zip.write(Files.readAllBytes(dir.resolve("a").resolve(file)));
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
