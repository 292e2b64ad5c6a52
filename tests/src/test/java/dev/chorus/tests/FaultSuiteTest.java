package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 15's fault suite: the broker, the registry and serving as separate processes (as bin/serve
 * runs them), faults injected with {@link Faults}, and each scenario asserting what a user sees and
 * that nothing is lost. Prints a summary table at the end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FaultSuiteTest {
    static final String ACME_SHA = "afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163";
    static final String GLOBEX_SHA = "f2a455b59b858a04c51108416af2042203cb6ac35fa4141fba4148bc856e78d4";
    static final String OPERATOR_SHA = "c9736463f555cdb7d2a78cfd7aa8b8c4f09d906d78f8dab9228eda30a28c2818";
    static final String ACME = "Bearer acme-key";
    static final String GLOBEX = "Bearer globex-key";
    static final Duration WRITE_TIMEOUT = Duration.ofSeconds(6);
    static final Path MODEL = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
    static final Path LOGS = Path.of(System.getProperty("test.build.dir"), "fault-suite-logs");
    /** HTTP/1.1: one connection per request, as separate clients (tenants) have; HTTP/2 would multiplex every tenant on one. */
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    static final List<String[]> SUMMARY = Collections.synchronizedList(new ArrayList<>());

    static Path dir;
    static Broker broker;
    static Service registry;
    static Service serving;
    static String baseText;
    static String pirateText;

    @BeforeAll
    static void stack() throws Exception {
        dir = Files.createTempDirectory("chorus-fault-suite-");
        broker = Broker.start(dir.resolve("kafka"), Service.freePort(), LOGS);
        Map<String, String> auth = Map.of("chorus.auth.tenants.acme.api-key-sha256", ACME_SHA,
                "chorus.auth.tenants.globex.api-key-sha256", GLOBEX_SHA, "chorus.auth.admin-key-sha256", OPERATOR_SHA,
                "chorus.auth.demo-tenant", "false", "kafka.bootstrap.servers", broker.bootstrapServers());
        Map<String, String> registryConfig = new HashMap<>(auth);
        registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
        registryConfig.put("chorus.registry.base-model", MODEL.toString());
        registryConfig.put("chorus.registry.write-timeout", WRITE_TIMEOUT.toString());
        registry = Service.start("registry", Path.of(System.getProperty("test.registry.jar")), registryConfig, LOGS);
        Map<String, String> servingConfig = new HashMap<>(auth);
        servingConfig.put("chorus.model.path", MODEL.toString());
        servingConfig.put("chorus.adapters.source", "registry");
        servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
        servingConfig.put("chorus.adapters.registry-key", "operator-key");
        servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
        serving = Service.start("serving", Path.of(System.getProperty("test.serving.jar")), servingConfig, LOGS);

        assertEquals(201, upload("pirate", 1).statusCode());
        assertEquals(201, upload("pirate", 2).statusCode()); // v2 stays inactive: nothing prefetches it
        baseText = awaitText(null);
        pirateText = awaitText("pirate@1");
    }

    @AfterAll
    static void summary() {
        for (AutoCloseable c : new AutoCloseable[] {serving, registry, broker}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort
            }
        }
        System.out.println();
        System.out.println("Fault suite summary");
        System.out.printf("| %-34s | %-44s | %-8s | %s%n", "scenario", "injected", "outcome", "numbers");
        System.out.println("|" + "-".repeat(36) + "|" + "-".repeat(46) + "|" + "-".repeat(10) + "|" + "-".repeat(60));
        for (String[] row : SUMMARY) {
            System.out.printf("| %-34s | %-44s | %-8s | %s%n", row[0], row[1], row[2], row[3]);
        }
        System.out.println();
    }

    /** A scenario's body: asserts what the user sees and returns the numbers for the summary. */
    interface Scenario {
        String run() throws Exception;
    }

    /** Runs one scenario and records its row, held or failed (with the failure as its numbers). */
    static void scenario(String name, String injected, Scenario body) throws Exception {
        try {
            String numbers = body.run();
            SUMMARY.add(new String[] {name, injected, "held", numbers});
        } catch (Exception | AssertionError e) {
            SUMMARY.add(new String[] {name, injected, "FAILED", String.valueOf(e.getMessage()).lines().findFirst().orElse("")});
            throw e;
        }
    }

    interface Call {
        HttpResponse<String> send() throws Exception;
    }

    /** Repeats {@code call} until it answers {@code status} or {@code millis} pass; returns the last answer. */
    static HttpResponse<String> until(int status, long millis, Call call) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = call.send();
        while (r.statusCode() != status && millisSince(start) < millis) {
            Service.sleep(200);
            r = call.send();
        }
        return r;
    }

    @Test
    @Order(1)
    void brokerKilledAndRestarted() throws Exception {
        scenario("broker killed and restarted", "kill -9 broker, restart on its data", () -> {
            long registryPid = registry.pid();
            long servingPid = serving.pid();
            Faults.kill9(broker.pid());
            assertEquals(baseText, text(complete(serving, ACME, null, 64)), "serving keeps answering without the broker");

            long start = System.nanoTime();
            HttpResponse<String> outage = upload("during-outage", 3);
            long outageMillis = millisSince(start);
            assertEquals(503, outage.statusCode(), outage.body());
            assertTrue(outage.headers().firstValue("Retry-After").isPresent(), "503 says when to retry");
            assertTrue(outageMillis <= WRITE_TIMEOUT.toMillis() + 2000, "the write answered within its timeout: " + outageMillis + " ms");
            assertTrue(await(() -> status(registry, "/q/health/ready") == 503, 15_000), "the registry reports NOT READY");

            broker = broker.restart();
            long restarted = System.nanoTime();
            HttpResponse<String> after = until(201, 60_000, () -> upload("during-outage", 3));
            long recoveryMillis = millisSince(restarted);
            assertEquals(201, after.statusCode(), after.body());
            assertTrue(await(() -> status(registry, "/q/health/ready") == 200, 15_000), "ready again");
            assertEquals(registryPid, registry.pid());
            assertTrue(registry.alive() && serving.alive() && serving.pid() == servingPid, "nothing was restarted but the broker");
            assertEquals(pirateText, text(complete(serving, ACME, "pirate@1", 64)));
            String numbers = "serving 200 throughout; upload 503 in " + outageMillis + " ms (timeout " + WRITE_TIMEOUT.toMillis()
                    + "), NOT READY; 201 " + recoveryMillis + " ms after the broker restart";
            return numbers;
        });
    }

    @Test
    @Order(2)
    void registryKilledAndRestarted() throws Exception {
        scenario("registry killed and restarted", "kill -9 registry, restart", () -> {
            long servingPid = serving.pid();
            Faults.kill9(registry.pid());
            assertEquals(pirateText, text(complete(serving, ACME, "pirate@1", 64)), "a cached adapter keeps serving");
            long start = System.nanoTime();
            HttpResponse<String> cold = complete(serving, ACME, "pirate@2", 16);
            long coldMillis = millisSince(start);
            assertEquals(503, cold.statusCode(), cold.body());
            assertEquals("adapter_unavailable", new JsonObject(cold.body()).getJsonObject("error").getString("code"));
            assertTrue(cold.headers().firstValue("Retry-After").isPresent());

            registry = registry.restart();
            long restarted = System.nanoTime();
            HttpResponse<String> after = until(200, 60_000, () -> complete(serving, ACME, "pirate@2", 16));
            long recoveryMillis = millisSince(restarted);
            assertEquals(200, after.statusCode(), after.body());
            assertEquals(servingPid, serving.pid(), "serving was not restarted");
            String numbers = "cached adapter 200; cold load 503 adapter_unavailable in " + coldMillis + " ms; 200 " + recoveryMillis
                    + " ms after the registry restart";
            return numbers;
        });
    }

    @Test
    @Order(3)
    void servingKilledMidStreamAndRestarted() throws Exception {
        scenario("serving killed mid-stream", "kill -9 serving during a stream, restart", () -> {
            JsonArray before = models(serving);
            CompletableFuture<Void> firstChunk = new CompletableFuture<>();
            HttpRequest request = HttpRequest.newBuilder(serving.url("/v1/completions")).header("Authorization", ACME)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
                            .put("prompt", "Tom found a shiny key").put("max_tokens", 400).put("temperature", 0).put("model", "pirate")
                            .put("stream", true).encode())).build();
            CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> stream = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines());
            CompletableFuture<Long> chunks = stream.thenApply(r -> r.body().peek(l -> firstChunk.complete(null)).count());
            firstChunk.get(30, TimeUnit.SECONDS);
            Faults.kill9(serving.pid());
            long start = System.nanoTime();
            serving = serving.restart();
            long restartMillis = millisSince(start);
            try {
                chunks.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the stream broke with the process: expected
            }
            assertEquals(before, models(serving), "the same catalogue after the restart");
            assertEquals(baseText, text(complete(serving, ACME, null, 64)), "the same greedy answer");
            assertEquals(pirateText, text(complete(serving, ACME, "pirate@1", 64)), "the same greedy answer on the adapter");
            String numbers = "back in " + restartMillis + " ms; catalogue (" + before.size() + " adapters) and greedy answers identical";
            return numbers;
        });
    }

    @Test
    @Order(4)
    void oneTenantsFloodDoesNotStallAnother() throws Exception {
        scenario("one tenant floods", "acme, another process: 32 x 1 MB prompts; then those + 32 long valid ones", () -> {
            for (int i = 0; i < 3; i++) {
                smallRequestMillis();
            }
            // Rounds interleave the unloaded and flooded measurements, so a change in the machine's load hits both.
            FloodRounds oversized = floodRounds(32, 0);
            FloodRounds engine = floodRounds(32, 32);
            String numbers = "oversized only: " + oversized + "; with valid ones: " + engine;
            System.out.println("flood: " + numbers);
            assertTrue(oversized.statuses.stream().allMatch(s -> s.equals("{400=32}")), "every oversized prompt is refused: " + numbers);
            // Another tenant's p99 within 3x its unloaded p99, plus 500 ms: the flooding process shares this machine's CPUs
            // (it sends 32 MB), which no server-side fairness gives back. Medians over the rounds.
            assertTrue(oversized.p99Flooded() <= 3 * oversized.p99Unloaded() + 500, "oversized: " + numbers);
            // Valid prompts keep the engine busy: every one of the other tenant's steps is shared with the flood (at most
            // tenant-prefill-budget of its prompt tokens per step), and a request arriving during one of the flood's
            // full-budget prefill passes waits for it. The bound is 3x the unloaded p99 plus VALID_FLOOD_SLACK_MS: the
            // flooder process (JVM start, 64 connections, 32 MB sent) and the serving threads it keeps busy share this
            // machine's two cores with the engine thread, which no scheduling inside serving gives back.
            assertTrue(engine.p99Flooded() <= 3 * engine.p99Unloaded() + VALID_FLOOD_SLACK_MS, "valid prompts: " + numbers);
            return numbers;
        });
    }

    static final int FLOOD_ROUNDS = 3;

    /**
     * The absolute slack of the valid flood's bound, from measurements on two cores shared with other builds (load
     * average 10-12): with each tenant's share of a prefill pass bounded while another tenant waits for its own prefill,
     * flooded p99 minus 3x unloaded p99 was -130 to +630 ms in six runs and +1350 ms in one at the highest load; the rest
     * is the flooder process's CPU (its JVM start and 64 connections) and the flood's full-budget passes a request can
     * arrive during. Generous on purpose: the engine-level bound is TenantFairnessTest's, counted in tokens, not timed.
     */
    static final long VALID_FLOOD_SLACK_MS = 1000;

    /** Per round: the other tenant's small requests unloaded, then while a flood runs. */
    record FloodRounds(List<List<Long>> unloaded, List<List<Long>> flooded, List<String> statuses) {
        long p99Unloaded() {
            return median(unloaded.stream().map(FaultSuiteTest::p99).toList());
        }

        long p99Flooded() {
            return median(flooded.stream().map(FaultSuiteTest::p99).toList());
        }

        long p50(List<List<Long>> rounds) {
            return median(rounds.stream().map(FaultSuiteTest::median).toList());
        }

        @Override
        public String toString() {
            return String.format("other tenant p50/p99 ms unloaded %d/%d, flooded %d/%d (medians of %d rounds; p99 ratio %.1f, "
                    + "target 3; flood answers %s)", p50(unloaded), p99Unloaded(), p50(flooded), p99Flooded(), unloaded.size(),
                    (double) p99Flooded() / Math.max(1, p99Unloaded()), statuses);
        }
    }

    static FloodRounds floodRounds(int oversized, int valid) throws Exception {
        FloodRounds rounds = new FloodRounds(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int round = 0; round < FLOOD_ROUNDS; round++) {
            List<Long> unloaded = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                unloaded.add(smallRequestMillis());
            }
            Faults.Flood flood = Faults.flood(serving.url("/v1/completions"), ACME, oversized, valid);
            List<Long> flooded = new ArrayList<>();
            do { // at least one sample, however quickly the flood is answered
                flooded.add(smallRequestMillis());
            } while (flooded.size() < 15 && flood.running());
            rounds.statuses.add(flood.statuses());
            rounds.unloaded.add(unloaded);
            rounds.flooded.add(flooded);
        }
        return rounds;
    }

    /** The largest of a round's samples stands for its p99 (at most 15 samples). */
    static long p99(List<Long> samples) {
        return samples.isEmpty() ? 0 : Collections.max(samples);
    }

    static long median(List<Long> values) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** The registry's resident memory may grow by at most this much under an upload storm (the stated budget). */
    static final long RSS_BUDGET_BYTES = 512L << 20;

    @Test
    @Order(5)
    void anUploadStormOfZipBombsStaysWithinTheMemoryBudget() throws Exception {
        scenario("upload storm with zip bombs", "16 concurrent 1 MB zips inflating to 1 GiB", () -> {
            byte[] bomb = zipBomb();
            long pid = registry.pid();
            long before = Faults.rssBytes(pid);
            long[] peak = {before};
            java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
            Thread sampler = new Thread(() -> {
                while (sampling.get()) {
                    peak[0] = Math.max(peak[0], Faults.rssBytes(pid));
                    Service.sleep(100);
                }
            });
            sampler.start();
            java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
            long start = System.nanoTime();
            List<Integer> statuses = Faults.fill(16, () -> {
                String auth = n.incrementAndGet() % 2 == 0 ? ACME : GLOBEX;
                String tenant = auth.equals(ACME) ? "acme" : "globex";
                return send(HttpRequest.newBuilder(registry.url("/v1/tenants/" + tenant + "/adapters/bomb")).header("Authorization", auth)
                        .header("Content-Type", "application/zip").timeout(Duration.ofMinutes(3))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(bomb)).build()).statusCode();
            });
            long stormMillis = millisSince(start);
            sampling.set(false);
            sampler.join();
            long after = Faults.rssBytes(pid);
            String numbers = String.format("16 x %d KB bombs in %d ms: statuses %s; RSS MiB before %d, peak %d, after %d (budget +%d)",
                    bomb.length / 1024, stormMillis, new java.util.TreeMap<>(statuses.stream().collect(java.util.stream.Collectors.groupingBy(
                            x -> x, java.util.stream.Collectors.counting()))), before >> 20, peak[0] >> 20, after >> 20, RSS_BUDGET_BYTES >> 20);
            System.out.println("zip bombs: " + numbers);
            assertTrue(statuses.stream().allMatch(st -> st == 413 || st == 429), "bombs are refused: " + statuses);
            assertTrue(peak[0] - before <= RSS_BUDGET_BYTES, numbers);
            assertEquals(201, upload("after-storm", 5).statusCode(), "the registry still takes real uploads");
            return numbers;
        });
    }

    @Test
    @Order(6)
    void aBlobDamagedOnTheRegistryRaisesTheOperatorsAlert() throws Exception {
        scenario("blob damaged on the registry", "flip one bit of a stored blob", () -> {
            String gauge = "chorus_registry_unusable_versions";
            assertEquals(0, metric(registry, gauge), "no alert before");
            upload("fragile", 7);
            HttpResponse<String> second = upload("fragile", 8); // inactive: nothing prefetches it, so the finding is ours
            assertEquals(201, second.statusCode(), second.body());
            JsonArray versions = new JsonObject(second.body()).getJsonArray("versions");
            String sha = versions.getJsonObject(versions.size() - 1).getString("sha256");
            Faults.corrupt(dir.resolve("blobs").resolve(sha.substring(0, 2)).resolve(sha));
            HttpResponse<String> read = send(HttpRequest.newBuilder(registry.url("/v1/blobs/" + sha)).header("Authorization", "Bearer operator-key")
                    .GET().build());
            assertEquals(500, read.statusCode(), read.body());
            HttpResponse<String> view = send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/fragile/versions"))
                    .header("Authorization", ACME).GET().build());
            String status = new JsonObject(view.body()).getJsonArray("versions").getJsonObject(1).getString("status");
            assertEquals("unusable", status);
            double alert = metric(registry, gauge);
            String metrics = send(HttpRequest.newBuilder(registry.managementUrl("/q/metrics")).GET().build()).body();
            assertTrue(!metrics.contains("acme") && !metrics.contains("fragile"), "the alert names no tenant and no adapter");
            assertEquals(404, status(registry, "/q/metrics"), "metrics are not on the API port");
            assertEquals(1, alert, "one unusable version");
            return String.format("read 500 corrupt_blob; version 2 \"%s\"; %s %.0f -> %.0f on the management port (none on the API port)",
                    status, gauge, 0.0, alert);
        });
    }

    /** One unlabelled series of {@code service}'s metrics (management interface). */
    static double metric(Service service, String name) throws Exception {
        String metrics = send(HttpRequest.newBuilder(service.managementUrl("/q/metrics")).GET().build()).body();
        return metrics.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1).trim()))
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in the metrics"));
    }

    /** About 1 MB of zip whose weights entry inflates to 1 GiB of zeros. */
    static byte[] zipBomb() throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
            zip.setLevel(9);
            zip.putNextEntry(new java.util.zip.ZipEntry("adapter_config.json"));
            zip.write("{\"peft_type\": \"LORA\", \"r\": 8, \"target_modules\": [\"q_proj\"]}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            zip.putNextEntry(new java.util.zip.ZipEntry("adapter_model.safetensors"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 1024; i++) {
                zip.write(zeros);
            }
            zip.closeEntry();
        }
        return bytes.toByteArray();
    }

    static long smallRequestMillis() throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = complete(serving, GLOBEX, null, 16);
        assertEquals(200, r.statusCode(), r.body());
        return millisSince(start);
    }

    // --- helpers ------------------------------------------------------------------------------

    static HttpResponse<String> upload(String name, long seed) throws Exception {
        return send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/" + name)).header("Authorization", ACME)
                .header("Content-Type", "application/zip").timeout(Duration.ofSeconds(60))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(EndToEndTest.adapterZip(seed))).build());
    }

    static HttpResponse<String> complete(Service service, String auth, String model, int tokens) throws Exception {
        JsonObject body = new JsonObject().put("prompt", "Tom found a shiny key").put("max_tokens", tokens).put("temperature", 0);
        if (model != null) {
            body.put("model", model);
        }
        return send(HttpRequest.newBuilder(service.url("/v1/completions")).header("Authorization", auth).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body.encode())).build());
    }

    static String text(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body()).getJsonArray("choices").getJsonObject(0).getString("text");
    }

    /** The greedy text of {@code model}, once serving has it (adapters arrive through the topic). */
    static String awaitText(String model) throws Exception {
        return text(until(200, 30_000, () -> complete(serving, ACME, model, 64)));
    }

    static JsonArray models(Service service) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(service.url("/v1/models")).header("Authorization", ACME).GET().build());
        assertEquals(200, r.statusCode(), r.body());
        JsonArray out = new JsonArray();
        for (Object o : new JsonObject(r.body()).getJsonArray("data")) {
            JsonObject m = ((JsonObject) o).copy();
            m.remove("created"); // when the listing was made
            out.add(m);
        }
        return out;
    }

    static int status(Service service, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(service.url(path)).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static boolean await(Condition condition, long millis) throws Exception {
        long start = System.nanoTime();
        while (millisSince(start) < millis) {
            if (condition.holds()) {
                return true;
            }
            Service.sleep(250);
        }
        return condition.holds();
    }

    static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    static HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
