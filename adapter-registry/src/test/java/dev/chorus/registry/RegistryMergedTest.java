package dev.chorus.registry;

import static dev.chorus.registry.RegistryApiTest.ACME;
import static dev.chorus.registry.RegistryApiTest.as;
import static dev.chorus.registry.RegistryApiTest.uploadZip;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.finetune.AdapterMerge;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A version's merged model: attached by operators only, checked, shown in the version views, served as a blob, deleted with its version. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class) // same resources in every registry test: one broker, one app
class RegistryMergedTest {
    static final String OPERATOR = "Bearer operator-key";
    static final String GLOBEX = "Bearer globex-key";
    static Map<String, byte[]> mergedFiles;
    static byte[] merged;
    static String baseFingerprint;

    /** A merged model of the registry's base: a lora folded into the dense base, written as chorus merge writes it. */
    @BeforeAll
    static void mergeOnce() throws IOException {
        Path base = Path.of(ConfigProvider.getConfig().getValue("chorus.registry.base-model", String.class));
        baseFingerprint = Fingerprint.of(base);
        DenseParameters dense = HfCheckpoint.read(base);
        var lora = RandomAdapters.generate(dense.config(), AdapterType.LORA, 4, EnumSet.allOf(Projection.class), 0.05, 5, null);
        Path dir = Files.createTempDirectory("chorus-merged-test-").resolve("m");
        CompressedCheckpoint.write(AdapterMerge.mergeDense(dense, lora, baseFingerprint), dir, Checkpoints.open(base).companionFiles());
        mergedFiles = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                mergedFiles.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        merged = TestUploads.zip(mergedFiles);
    }

    static Response attach(String auth, String name, Object version, byte[] zip) {
        return as(auth).contentType("application/zip").body(zip).put("/v1/tenants/acme/adapters/" + name + "/versions/" + version + "/merged");
    }

    @Test
    void operatorsAttachAMergedModelThatTenantsSeeAndDownload() {
        uploadZip(ACME, "acme", "sqft", TestUploads.zip(AdapterType.LORA, 4, 31)).then().statusCode(201);
        String path = "/v1/tenants/acme/adapters/sqft/versions";
        as(ACME).get(path).then().statusCode(200).body("versions[0].merged", nullValue());

        attach(ACME, "sqft", 1, merged).then().statusCode(403).body("error.code", equalTo("forbidden"))
                .body("error.message", containsString("operator"));
        String sha = TestUploads.sha256(merged);
        attach(OPERATOR, "sqft", 1, merged).then().statusCode(200)
                .body("version", equalTo(1))
                .body("merged.sha256", equalTo(sha))
                .body("merged.size_bytes", equalTo(merged.length))
                .body("merged.base_fingerprint", equalTo(baseFingerprint))
                .body("merged.status", equalTo("available"))
                .body("merged.download", equalTo("/v1/blobs/" + sha));
        as(ACME).get(path).then().statusCode(200).body("versions[0].merged.sha256", equalTo(sha));
        String updated = as(ACME).get("/v1/tenants/acme/adapters/sqft").then().extract().path("updated_at");

        assertArrayEquals(merged, as(ACME).get("/v1/blobs/" + sha).then().statusCode(200).extract().asByteArray(), "the owner downloads it");
        as(GLOBEX).get("/v1/blobs/" + sha).then().statusCode(404);
        as(OPERATOR).head("/v1/blobs/" + sha).then().statusCode(200);

        // The same artifact again changes nothing (a re-merger that restarted, or a second instance).
        attach(OPERATOR, "sqft", 1, merged).then().statusCode(200).body("merged.sha256", equalTo(sha));
        as(ACME).get("/v1/tenants/acme/adapters/sqft").then().body("updated_at", equalTo(updated));
        // Stated for the registry's own base: fine.
        as(OPERATOR).contentType("application/zip").body(merged).queryParam("base_fingerprint", baseFingerprint)
                .put(path + "/1/merged").then().statusCode(200);
    }

    @Test
    void badMergedModelsAreRefusedWithTheReason() {
        uploadZip(ACME, "acme", "sqft-bad", TestUploads.zip(AdapterType.LORA, 4, 32)).then().statusCode(201);
        attach(OPERATOR, "sqft-bad", 1, "not a zip".getBytes()).then().statusCode(422).body("error.code", equalTo("invalid_merged_model"));
        Map<String, byte[]> noWeights = new LinkedHashMap<>(mergedFiles);
        noWeights.remove("model.safetensors");
        attach(OPERATOR, "sqft-bad", 1, TestUploads.zip(noWeights)).then().statusCode(422)
                .body("error.message", containsString("model.safetensors"));
        Map<String, byte[]> stranger = new LinkedHashMap<>(mergedFiles);
        stranger.put("../evil.sh", new byte[] {1});
        attach(OPERATOR, "sqft-bad", 1, TestUploads.zip(stranger)).then().statusCode(422).body("error.message", containsString("../evil.sh"));
        Map<String, byte[]> truncated = new LinkedHashMap<>(mergedFiles);
        byte[] weights = truncated.get("model.safetensors");
        truncated.put("model.safetensors", java.util.Arrays.copyOf(weights, weights.length / 2));
        attach(OPERATOR, "sqft-bad", 1, TestUploads.zip(truncated)).then().statusCode(422);
        Map<String, byte[]> otherShape = new LinkedHashMap<>(mergedFiles);
        otherShape.put("config.json", new String(mergedFiles.get("config.json")).replace("\"vocab_size\" : 2048", "\"vocab_size\" : 4096")
                .getBytes());
        assertFalse(new String(otherShape.get("config.json")).contains("2048"), "test setup: " + new String(otherShape.get("config.json")));
        attach(OPERATOR, "sqft-bad", 1, TestUploads.zip(otherShape)).then().statusCode(422);
        as(OPERATOR).contentType("application/zip").body(merged).queryParam("base_fingerprint", "sha256:" + "0".repeat(64))
                .put("/v1/tenants/acme/adapters/sqft-bad/versions/1/merged").then().statusCode(422)
                .body("error.message", containsString("this registry's base is " + baseFingerprint));
        attach(OPERATOR, "sqft-bad", 9, merged).then().statusCode(404).body("error.code", equalTo("not_found"));
        attach(OPERATOR, "nobody", 1, merged).then().statusCode(404);
        attach(OPERATOR, "sqft-bad", "x", merged).then().statusCode(400);
        attach(OPERATOR, "sqft-bad", 1, new byte[0]).then().statusCode(400).body("error.code", equalTo("invalid_request"));
        as(OPERATOR).contentType("text/plain").body(merged).put("/v1/tenants/acme/adapters/sqft-bad/versions/1/merged").then().statusCode(415);
        long limit = ConfigProvider.getConfig().getValue("chorus.registry.max-merged-bytes", Long.class);
        attach(OPERATOR, "sqft-bad", 1, new byte[(int) limit + 1]).then().statusCode(413).body("error.code", equalTo("too_large"));
        // Nothing was attached, and the valid artifact sent for a missing version left no blob behind.
        as(ACME).get("/v1/tenants/acme/adapters/sqft-bad/versions").then().body("versions[0].merged", nullValue());
        byte[] own = unique("sqft-bad");
        attach(OPERATOR, "sqft-bad", 7, own).then().statusCode(404);
        String sha = TestUploads.sha256(own);
        assertFalse(Files.exists(TestUploads.blobDir().resolve(sha.substring(0, 2)).resolve(sha)), "no stray blob");
    }

    /** A valid merged artifact no other test attaches. */
    private static byte[] unique(String label) {
        Map<String, byte[]> files = new LinkedHashMap<>(mergedFiles);
        files.put("generation_config.json", ("{\"unique\": \"" + label + "\"}").getBytes());
        return TestUploads.zip(files);
    }

    @Test
    void theMergedBlobGoesWithTheLastVersionThatUsesIt() {
        uploadZip(ACME, "acme", "sqft-gone", TestUploads.zip(AdapterType.LORA, 4, 33)).then().statusCode(201);
        uploadZip(ACME, "acme", "sqft-gone", TestUploads.zip(AdapterType.LORA, 4, 34)).then().statusCode(201);
        byte[] own = unique("sqft-gone");
        String sha = TestUploads.sha256(own);
        attach(OPERATOR, "sqft-gone", 1, own).then().statusCode(200);
        attach(OPERATOR, "sqft-gone", 2, own).then().statusCode(200);
        Path blob = TestUploads.blobDir().resolve(sha.substring(0, 2)).resolve(sha);
        assertTrue(Files.exists(blob));
        as(ACME).contentType("application/json").body("{\"version\": 2}").post("/v1/tenants/acme/adapters/sqft-gone/promote").then().statusCode(200);
        as(ACME).delete("/v1/tenants/acme/adapters/sqft-gone/versions/1").then().statusCode(200);
        assertTrue(Files.exists(blob), "version 2 still uses it");
        as(ACME).get("/v1/blobs/" + sha).then().statusCode(200);
        as(ACME).delete("/v1/tenants/acme/adapters/sqft-gone/versions/2").then().statusCode(200);
        assertFalse(Files.exists(blob), "deleted with the last version that used it");
        as(OPERATOR).get("/v1/blobs/" + sha).then().statusCode(404);
        as(ACME).get("/v1/tenants/acme/adapters/sqft-gone").then().statusCode(404);
    }
}
