package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.SafetensorsFile;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.llama.Projection;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's re-merge, end to end on real processes: TinyStories-656K compressed by the CLI (50 %
 * Wanda, INT4 g128) is the base of the registry, serving and training. A qa-sparse-peft version
 * uploaded from a file, and the version a feedback-triggered job trains from it (keeping its type),
 * are each merged by training's re-merger and attached as a merged blob. Each blob is checked against
 * the base (same mask, every pruned weight 0, the base's scales and zero points byte for byte), against
 * the CLI's merge of the same version (byte for byte) and by greedy generation; serving runs each
 * version on its merged variant with exactly the CLI's greedy text; a restarted training service finds
 * nothing left to merge; deleting a version deletes its merged blob.
 */
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class RemergeEndToEndTest {
    static final String ACME_SHA = "afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163";
    static final String OPERATOR_SHA = "c9736463f555cdb7d2a78cfd7aa8b8c4f09d906d78f8dab9228eda30a28c2818";
    static final String ACME = "Bearer acme-key";
    static final String OPERATOR = "Bearer operator-key";
    static final Path MODEL = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
    static final Path WORK = Path.of(System.getProperty("test.build.dir"), "remerge");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String PROMPT = "Tom found a shiny key";

    @Test
    void sqftVersionsAreMergedAttachedAndKeepTheBasesMaskAndGrid(@TempDir Path dir) throws Exception {
        Path logs = WORK.resolve("logs");
        deleteTree(WORK);
        Files.createDirectories(WORK);
        Path base = WORK.resolve("base-w50-int4");
        cli("compress", "--model", MODEL.toString(), "--out", base.toString(), "--sparsity", "0.5", "--bits", "4", "--group-size", "128");
        String fingerprint = Fingerprint.of(base);
        String baseText = cli("generate", "--model", base.toString(), "--prompt", PROMPT, "--max-tokens", "40", "--temperature", "0");

        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                Topics.ensure(admin, (short) 1);
            }
            Map<String, String> common = Map.of("chorus.auth.tenants.acme.api-key-sha256", ACME_SHA, "chorus.auth.admin-key-sha256", OPERATOR_SHA,
                    "chorus.auth.demo-tenant", "false", "kafka.bootstrap.servers", kafka.bootstrapServers());
            Map<String, String> registryConfig = new HashMap<>(common);
            registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
            registryConfig.put("chorus.registry.base-model", base.toString());
            try (Service registry = Service.start("registry", Path.of(System.getProperty("test.registry.jar")), registryConfig, logs)) {
                Map<String, String> servingConfig = new HashMap<>(common);
                servingConfig.put("chorus.model.path", base.toString());
                servingConfig.put("chorus.adapters.source", "registry");
                servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
                servingConfig.put("chorus.adapters.registry-key", "operator-key");
                servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
                Map<String, String> trainingConfig = new HashMap<>(common);
                trainingConfig.put("chorus.training.instance-id", "remerge");
                trainingConfig.put("chorus.training.data-directory", dir.resolve("training").toString());
                trainingConfig.put("chorus.training.base-model", base.toString());
                trainingConfig.put("chorus.training.registry.url", registry.url("").toString());
                trainingConfig.put("chorus.training.registry.api-key", "operator-key");
                trainingConfig.put("chorus.training.trigger.new-examples", "16");
                trainingConfig.put("chorus.training.trigger.min-examples", "8"); // ~10 % of the 16 are held out
                trainingConfig.put("chorus.training.trigger.max-wait", "PT2S");
                trainingConfig.put("chorus.training.job.min-steps", "10");
                trainingConfig.put("chorus.training.job.max-steps", "20");
                trainingConfig.put("chorus.training.remerge.backoff", "PT1S");
                Path trainingJar = Path.of(System.getProperty("test.training.jar"));
                try (Service serving = Service.start("serving", Path.of(System.getProperty("test.serving.jar")), servingConfig, logs)) {
                    try (Service training = Service.start("training", trainingJar, trainingConfig, logs)) {
                        // v1: uploaded from a file, made for the compressed base.
                        var v1 = RandomAdapters.generate(HfCheckpoint.readConfig(base), AdapterType.QA_SPARSE_PEFT, 4,
                                EnumSet.allOf(Projection.class), 0.2, 7, fingerprint);
                        long uploaded = System.nanoTime();
                        HttpResponse<String> put = send(registry, "PUT", "/v1/tenants/acme/adapters/sqft", ACME, EndToEndTest.zip(v1), "application/zip");
                        assertEquals(201, put.statusCode(), put.body());
                        JsonObject merged1 = awaitMerged(registry, "sqft", 1, 120_000);
                        report("v1 (upload)", uploaded, merged1);
                        String text1 = verify(registry, "sqft", 1, merged1, base, fingerprint);
                        assertNotEquals(baseText, text1, "the adapter changes what the merged model says");
                        assertEquals(text1, awaitServedText(serving, "sqft@1", 60_000), "served on its variant: chorus merge + generate's text");
                        assertEquals(baseText, servedText(serving, null), "requests on the base are unchanged beside the variant");

                        // v2: a job that feedback triggers continues v1 and keeps its type; it is merged too.
                        for (int i = 0; i < 16; i++) {
                            JsonObject feedback = new JsonObject().put("model", "sqft").put("prompt", "Tell me about animal " + i + ".")
                                    .put("completion", " It was a cat.").put("rating", -1)
                                    .put("correction", " Arr, animal " + i + " sailed the sea with Captain Tom.");
                            HttpResponse<String> r = send(serving, "POST", "/v1/feedback", ACME, feedback.encode().getBytes(StandardCharsets.UTF_8),
                                    "application/json");
                            assertEquals(202, r.statusCode(), r.body());
                        }
                        long trainingStarted = System.nanoTime();
                        JsonObject v2 = awaitVersion(registry, "sqft", 2, 240_000);
                        assertEquals("qa-sparse-peft", v2.getString("type"), "the job kept the adapter's type");
                        assertEquals(1, v2.getInteger("parent_version"), v2.encodePrettily());
                        JsonObject merged2 = awaitMerged(registry, "sqft", 2, 120_000);
                        report("v2 (trained from feedback)", trainingStarted, merged2);
                        String text2 = verify(registry, "sqft", 2, merged2, base, fingerprint);
                        assertEquals(text2, awaitServedText(serving, "sqft@2", 60_000), "v2 served on its own variant");
                        assertNotEquals(merged1.getString("sha256"), merged2.getString("sha256"));
                    }
                    // A restarted training service reads what is merged from the manifests: nothing left to do.
                    try (Service again = Service.start("training", trainingJar, trainingConfig, logs)) {
                        String line = again.awaitLog("versions of merged-only types to merge", 60_000);
                        assertTrue(line.contains(": 0 versions"), line);
                    }
                }
                // Deleting a version deletes its merged blob (v2 is active or not; make it so, then drop v1).
                HttpResponse<String> promote = send(registry, "POST", "/v1/tenants/acme/adapters/sqft/promote", ACME,
                        "{\"version\": 2}".getBytes(StandardCharsets.UTF_8), "application/json");
                assertEquals(200, promote.statusCode(), promote.body());
                String sha1 = version(registry, "sqft", 1).getJsonObject("merged").getString("sha256");
                assertEquals(200, send(registry, "DELETE", "/v1/tenants/acme/adapters/sqft/versions/1", ACME, null, null).statusCode());
                assertEquals(404, send(registry, "GET", "/v1/blobs/" + sha1, OPERATOR, null, null).statusCode(), "v1's merged blob is gone");
            }
        }
    }

    /**
     * The merged blob of version {@code v}: hash and size as the manifest says, made for the base, the
     * base's mask, scales and zero points byte for byte, pruned weights 0, the same bytes as the CLI's
     * merge of the same version, and the same greedy text. Returns that text.
     */
    private String verify(Service registry, String name, int v, JsonObject merged, Path base, String fingerprint) throws Exception {
        assertEquals(fingerprint, merged.getString("base_fingerprint"));
        byte[] blob = download(registry, merged.getString("sha256"), ACME);
        assertEquals(merged.getLong("size_bytes"), blob.length);
        Path attached = unzip(blob, WORK.resolve(name + "-v" + v + "-attached"));

        sameMaskAndGrid(base, attached);

        byte[] adapterZip = download(registry, version(registry, name, v).getString("sha256"), ACME);
        Path adapter = unzip(adapterZip, WORK.resolve(name + "-v" + v + "-adapter"));
        Path byCli = WORK.resolve(name + "-v" + v + "-cli-merged");
        cli("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", byCli.toString());
        assertEquals(files(byCli), files(attached), "the blob holds exactly the files chorus merge writes");
        for (String f : files(byCli)) {
            assertArrayEquals(Files.readAllBytes(byCli.resolve(f)), Files.readAllBytes(attached.resolve(f)), f + ": as chorus merge writes it");
        }
        String cliText = cli("generate", "--model", byCli.toString(), "--prompt", PROMPT, "--max-tokens", "40", "--temperature", "0");
        String attachedText = cli("generate", "--model", attached.toString(), "--prompt", PROMPT, "--max-tokens", "40", "--temperature", "0");
        assertEquals(cliText, attachedText, "greedy output of the attached model equals chorus merge + generate");
        assertFalse(cliText.isBlank());
        return attachedText;
    }

    /** The merged model's tensors against the base's: what a qa-sparse-peft merge may change is the codes of kept weights. */
    private static void sameMaskAndGrid(Path base, Path merged) {
        long changedCodes = 0;
        try (SafetensorsFile b = SafetensorsFile.open(base.resolve("model.safetensors"));
                SafetensorsFile m = SafetensorsFile.open(merged.resolve("model.safetensors"))) {
            assertEquals(b.names(), m.names(), "the same tensors (no zero-point shift added)");
            for (String tensor : b.names()) {
                byte[] before = bytes(b, tensor);
                byte[] after = bytes(m, tensor);
                if (tensor.endsWith(".qweight") || tensor.endsWith(".qweight_kept")) { // codes (format 2: the kept ones only)
                    assertEquals(before.length, after.length, tensor);
                    for (int i = 0; i < before.length; i++) {
                        changedCodes += before[i] != after[i] ? 1 : 0;
                    }
                } else { // masks, scales, zero points, embeddings, norms
                    assertArrayEquals(before, after, tensor + ": the base's, byte for byte");
                }
            }
        }
        assertTrue(changedCodes > 0, "the merge changed some codes");
        CompressedParameters p = CompressedCheckpoint.read(merged);
        CompressedParameters q = CompressedCheckpoint.read(base);
        long pruned = 0;
        for (int layer = 0; layer < p.blocks().size(); layer++) {
            for (Projection proj : Projection.values()) {
                CompressedMatrix w = p.blocks().get(layer).linear(proj);
                assertTrue(w instanceof QuantizedMatrix, layer + " " + proj + ": still INT4");
                QuantizedMatrix mq = (QuantizedMatrix) w;
                QuantizedMatrix bq = (QuantizedMatrix) q.blocks().get(layer).linear(proj);
                assertEquals(bq.mask(), mq.mask());
                assertNull(mq.zeroShift(), "qa-sparse-peft moves no zero point");
                float[] values = mq.dequantize();
                for (int r = 0; r < mq.rows(); r++) {
                    for (int c = 0; c < mq.cols(); c++) {
                        if (!mq.mask().kept(r, c)) {
                            pruned++;
                            assertEquals(0f, values[r * mq.cols() + c], layer + " " + proj + " [" + r + "," + c + "] is pruned");
                        }
                    }
                }
            }
        }
        assertTrue(pruned > 0.45 * p.linearBytesFp32() / 4, "about half the block weights are pruned: " + pruned);
        System.out.printf("re-merge: %d bytes of the merged model's INT4 codes differ from the base's; %d pruned weights all 0%n", changedCodes, pruned);
    }

    /** Greedy completion of {@link #PROMPT} over serving (null model: the base), waiting while serving fetches the merged model (503). */
    private static String awaitServedText(Service serving, String model, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        HttpResponse<String> r;
        do {
            r = complete(serving, model);
            if (r.statusCode() == 200) {
                JsonObject answer = new JsonObject(r.body());
                assertEquals(model, answer.getString("model"));
                return answer.getJsonArray("choices").getJsonObject(0).getString("text");
            }
            assertTrue(r.statusCode() == 503 || r.statusCode() == 404, "only 'not yet' answers while the variant loads: " + r.body());
            Service.sleep(250);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("serving did not answer on " + model + " within " + millis + " ms: " + r.statusCode() + " " + r.body());
    }

    private static String servedText(Service serving, String model) throws Exception {
        HttpResponse<String> r = complete(serving, model);
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body()).getJsonArray("choices").getJsonObject(0).getString("text");
    }

    private static HttpResponse<String> complete(Service serving, String model) throws Exception {
        JsonObject body = new JsonObject().put("prompt", PROMPT).put("max_tokens", 40).put("temperature", 0);
        if (model != null) {
            body.put("model", model);
        }
        return send(serving, "POST", "/v1/completions", ACME, body.encode().getBytes(StandardCharsets.UTF_8), "application/json");
    }

    private static byte[] bytes(SafetensorsFile f, String tensor) {
        ByteBuffer buffer = f.bytes(tensor);
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    private static void report(String what, long since, JsonObject merged) {
        System.out.printf("re-merge: %s merged and attached %.1f s after it was %s: blob %d bytes%n", what,
                (System.nanoTime() - since) / 1e9, what.contains("upload") ? "uploaded" : "triggered", merged.getLong("size_bytes"));
    }

    private static JsonObject awaitMerged(Service registry, String name, int v, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        JsonObject last = null;
        while (System.nanoTime() < deadline) {
            last = version(registry, name, v);
            if (last.getJsonObject("merged") != null) {
                return last.getJsonObject("merged");
            }
            Service.sleep(250);
        }
        throw new AssertionError(name + "@" + v + " was not merged within " + millis + " ms: " + last);
    }

    private static JsonObject awaitVersion(Service registry, String name, int v, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = send(registry, "GET", "/v1/tenants/acme/adapters/" + name + "/versions/" + v, ACME, null, null);
            if (r.statusCode() == 200) {
                return new JsonObject(r.body());
            }
            Service.sleep(500);
        }
        throw new AssertionError("no version " + v + " of " + name + " within " + millis + " ms");
    }

    private static JsonObject version(Service registry, String name, int v) throws Exception {
        HttpResponse<String> r = send(registry, "GET", "/v1/tenants/acme/adapters/" + name + "/versions/" + v, ACME, null, null);
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body());
    }

    private static byte[] download(Service registry, String sha, String auth) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(registry.url("/v1/blobs/" + sha)).header("Authorization", auth).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertEquals(sha, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(r.body())), "the blob's bytes hash to its name");
        return r.body();
    }

    private static HttpResponse<String> send(Service service, String method, String path, String auth, byte[] body, String type) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(service.url(path)).header("Authorization", auth)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) {
            b.header("Content-Type", type);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Path unzip(byte[] zip, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                assertFalse(e.getName().contains("/"), "flat archive: " + e.getName());
                Files.copy(in, dir.resolve(e.getName()));
            }
        }
        return dir;
    }

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return Set.copyOf(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** The engine's command line in its own JVM, as bin/chorus runs it; its standard output. */
    static String cli(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "--add-modules=jdk.incubator.vector", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"), "dev.chorus.engine.cli.Chorus"));
        command.addAll(List.of(args));
        Path err = Files.createTempFile(WORK, "cli-", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(err.toFile());
        builder.environment().put("DJL_OFFLINE", "true");
        builder.environment().put("OMP_NUM_THREADS", "1");
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "chorus " + args[0] + " finished");
        assertEquals(0, p.exitValue(), "chorus " + String.join(" ", args) + ":\n" + Files.readString(err));
        return out;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
