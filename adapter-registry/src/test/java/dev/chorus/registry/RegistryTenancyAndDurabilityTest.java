package dev.chorus.registry;

import static dev.chorus.registry.RegistryApiTest.ACME;
import static dev.chorus.registry.RegistryApiTest.as;
import static dev.chorus.registry.RegistryApiTest.uploadZip;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItems;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResourceManager;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/** Cross-tenant attempts, concurrent writers, a restarted catalogue and a damaged blob. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class) // same resources in every registry test: one broker, one app
class RegistryTenancyAndDurabilityTest {
    static final String GLOBEX = "Bearer globex-key";
    static final String OPERATOR = "Bearer operator-key";

    @Test
    void anotherTenantCanNeitherSeeNorChangeAnAdapter() {
        String sha = uploadZip(ACME, "acme", "secret", TestUploads.zip(AdapterType.LORA, 4, 21)).then().statusCode(201)
                .extract().path("versions[0].sha256");
        String base = "/v1/tenants/acme/adapters";
        as(GLOBEX).get(base).then().statusCode(403);
        as(GLOBEX).get(base + "/secret").then().statusCode(403);
        as(GLOBEX).get(base + "/secret/versions").then().statusCode(403);
        as(GLOBEX).contentType("application/zip").body(TestUploads.zip(AdapterType.LORA, 4, 22)).put(base + "/secret").then().statusCode(403);
        as(GLOBEX).contentType("application/json").body("{\"version\": 1}").post(base + "/secret/promote").then().statusCode(403);
        as(GLOBEX).delete(base + "/secret/versions/1").then().statusCode(403);
        as(GLOBEX).delete(base + "/secret").then().statusCode(403);
        // acme's blob looks exactly like a blob that does not exist.
        String missing = as(GLOBEX).get("/v1/blobs/" + "f".repeat(64)).then().statusCode(404).extract().path("error.code");
        as(GLOBEX).get("/v1/blobs/" + sha).then().statusCode(404).body("error.code", equalTo(missing));
        as(GLOBEX).get("/v1/adapters").then().statusCode(403);
        // Nothing changed, and acme and the operators still see it.
        as(ACME).get(base + "/secret").then().statusCode(200).body("versions.version", equalTo(List.of(1)));
        as(OPERATOR).get("/v1/adapters").then().statusCode(200).body("data.name", hasItems("secret"));
        as(OPERATOR).get("/v1/blobs/" + sha).then().statusCode(200);
    }

    @Test
    void concurrentUploadsLoseAndDuplicateNoVersion() throws Exception {
        int threads = 10;
        int uploads = 50;
        List<String> tenants = List.of("t-one", "t-two", "t-three", "t-four", "t-five");
        byte[] zip = TestUploads.zip(AdapterType.LORA, 2, 31);
        Map<String, List<Integer>> returned = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < uploads; i++) {
            String tenant = tenants.get(i % tenants.size());
            String name = "burst-" + (i / tenants.size()) % 2;
            done.add(pool.submit(() -> {
                int version = uploadZip(OPERATOR, tenant, name, zip).then().statusCode(201).extract().path("versions[-1].version");
                returned.computeIfAbsent(tenant + "/" + name, k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(version);
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        int total = 0;
        for (String tenant : tenants) {
            for (String name : List.of("burst-0", "burst-1")) {
                List<Integer> versions = as(OPERATOR).get("/v1/tenants/" + tenant + "/adapters/" + name).then().statusCode(200)
                        .extract().path("versions.version");
                List<Integer> expected = java.util.stream.IntStream.rangeClosed(1, versions.size()).boxed().toList();
                assertEquals(expected, versions, tenant + "/" + name + ": 1..n, strictly increasing, no gaps or repeats");
                List<Integer> answered = new ArrayList<>(returned.get(tenant + "/" + name));
                answered.sort(null);
                assertEquals(expected, answered, "each upload was answered with its own version");
                total += versions.size();
            }
        }
        assertEquals(uploads, total);
    }

    @Test
    void aRestartedCatalogueIsIdentical() {
        uploadZip(ACME, "acme", "durable", TestUploads.zip(AdapterType.QA_LORA, 4, 41)).then().statusCode(201);
        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        BlobStore blobs = new BlobStore(TestUploads.blobDir());
        List<AdapterManifest> before;
        try (Catalogue first = new Catalogue(KafkaConnection.plaintext(bootstrap), TopicNames.DEFAULTS, blobs, Duration.ofSeconds(15))) {
            before = first.list(null);
        }
        try (Catalogue restarted = new Catalogue(KafkaConnection.plaintext(bootstrap), TopicNames.DEFAULTS, blobs, Duration.ofSeconds(15))) {
            assertEquals(before, restarted.list(null), "the catalogue is rebuilt from the topic alone");
            assertTrue(restarted.live("acme", "durable").isPresent());
        }
    }

    @Test
    void aDamagedBlobIsNeverServed() throws Exception {
        String sha = uploadZip(ACME, "acme", "fragile", TestUploads.zip(AdapterType.SCALE, 0, 51)).then().statusCode(201)
                .extract().path("versions[0].sha256");
        Path file = TestUploads.blobDir().resolve(sha.substring(0, 2)).resolve(sha);
        byte[] bytes = Files.readAllBytes(file);
        double unusableBefore = metric("chorus_registry_unusable_versions");
        double damagedBefore = metric("chorus_registry_damaged_blobs_total");
        bytes[bytes.length / 2] ^= 0x01; // one flipped bit
        Files.write(file, bytes);
        as(ACME).get("/v1/blobs/" + sha).then().statusCode(500).body("error.code", equalTo("corrupt_blob"));
        // The operators' alert: one more unusable version, one more damaged blob found.
        assertEquals(unusableBefore + 1, metric("chorus_registry_unusable_versions"));
        assertEquals(damagedBefore + 1, metric("chorus_registry_damaged_blobs_total"));
        as(ACME).get("/v1/blobs/" + sha).then().statusCode(404); // withdrawn, not served on a second try either
        // The catalogue's view says so, instead of listing an "active" version nobody can load.
        as(ACME).get("/v1/tenants/acme/adapters/fragile/versions").then().statusCode(200)
                .body("versions[0].status", equalTo("unusable")).body("versions[0].status_reason", containsString("damaged"));
        // Re-uploading the same files heals it: the blob is written again under the same name.
        uploadZip(ACME, "acme", "fragile", TestUploads.zip(AdapterType.SCALE, 0, 51)).then().statusCode(201);
        byte[] healed = as(ACME).get("/v1/blobs/" + sha).then().statusCode(200).extract().asByteArray();
        assertEquals(sha, TestUploads.sha256(healed));
        as(ACME).get("/v1/tenants/acme/adapters/fragile/versions").then().statusCode(200).body("versions.status", everyItem(equalTo("available")));
        assertEquals(unusableBefore, metric("chorus_registry_unusable_versions"), "healed: the alert clears");
        assertEquals(damagedBefore + 1, metric("chorus_registry_damaged_blobs_total"), "the finding stays counted");
    }

    @Test
    void metricsAreOnlyOnTheManagementInterfaceAndNameNoTenant() {
        given().get("/q/metrics").then().statusCode(404);
        String metrics = given().baseUri(TestHTTPResourceManager.getManagementUri()).get("/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("chorus_registry_unusable_versions"), metrics);
        assertFalse(metrics.contains("acme") || metrics.contains("globex"), "no tenant names in the operators' metrics");
        given().get("/q/health/ready").then().statusCode(200); // probes stay on the API port
    }

    /** One unlabelled series' value from the management interface's Prometheus text. */
    static double metric(String name) {
        String metrics = given().baseUri(TestHTTPResourceManager.getManagementUri()).get("/metrics").then().statusCode(200).extract().asString();
        return metrics.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1).trim()))
                .findFirst().orElseThrow(() -> new AssertionError("no series " + name + " in " + metrics));
    }
}
