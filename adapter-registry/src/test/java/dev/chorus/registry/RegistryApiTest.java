package dev.chorus.registry;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The registry's REST lifecycle on a real (embedded) Kafka. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class) // same resources in every registry test: one broker, one app
class RegistryApiTest {
    static final String ACME = "Bearer acme-key";

    static RequestSpecification as(String auth) {
        return given().header("Authorization", auth);
    }

    static Response uploadZip(String auth, String tenant, String name, byte[] zip) {
        return as(auth).contentType("application/zip").body(zip).put("/v1/tenants/" + tenant + "/adapters/" + name);
    }

    @Test
    void uploadListDownloadPromoteRollbackDelete() {
        byte[] v1Zip = TestUploads.zip(AdapterType.LORA, 4, 1);
        Response v1 = uploadZip(ACME, "acme", "lifecycle", v1Zip);
        v1.then().statusCode(201)
                .body("tenant", equalTo("acme")).body("name", equalTo("lifecycle"))
                .body("active_version", equalTo(1))
                .body("versions[0].version", equalTo(1))
                .body("versions[0].type", equalTo("lora"))
                .body("versions[0].rank", equalTo(4));
        String sha1 = v1.path("versions[0].sha256");

        // v2 as multipart with the two files; it is not active until promoted.
        Map<String, byte[]> v2Files = TestUploads.files(AdapterType.QA_LORA, 8, 2);
        Response v2 = as(ACME).multiPart("config", AdapterFiles.CONFIG, v2Files.get(AdapterFiles.CONFIG))
                .multiPart("weights", AdapterFiles.WEIGHTS, v2Files.get(AdapterFiles.WEIGHTS))
                .put("/v1/tenants/acme/adapters/lifecycle");
        v2.then().statusCode(201).body("active_version", equalTo(1)).body("versions.version", equalTo(List.of(1, 2)));
        String sha2 = v2.path("versions[1].sha256");

        as(ACME).get("/v1/tenants/acme/adapters").then().statusCode(200).body("data.name", org.hamcrest.Matchers.hasItem("lifecycle"));
        as(ACME).get("/v1/tenants/acme/adapters/lifecycle/versions/2").then().statusCode(200)
                .body("type", equalTo("qa-lora")).body("active", equalTo(false));

        // Download: the bytes hash to the name; the ETag is the sha256; ranges work.
        Response blob = as(ACME).get("/v1/blobs/" + sha1);
        blob.then().statusCode(200).header("ETag", equalTo("\"" + sha1 + "\"")).header("Accept-Ranges", equalTo("bytes"));
        byte[] bytes = blob.asByteArray();
        assertEquals(sha1, TestUploads.sha256(bytes));
        byte[] part = as(ACME).header("Range", "bytes=10-99").get("/v1/blobs/" + sha1).then().statusCode(206)
                .header("Content-Range", equalTo("bytes 10-99/" + bytes.length)).extract().asByteArray();
        assertArrayEquals(Arrays.copyOfRange(bytes, 10, 100), part);
        byte[] tail = as(ACME).header("Range", "bytes=-16").get("/v1/blobs/" + sha1).then().statusCode(206).extract().asByteArray();
        assertArrayEquals(Arrays.copyOfRange(bytes, bytes.length - 16, bytes.length), tail);
        as(ACME).header("Range", "bytes=" + bytes.length + "-").get("/v1/blobs/" + sha1).then().statusCode(416)
                .header("Content-Range", equalTo("bytes */" + bytes.length));
        as(ACME).header("If-None-Match", "\"" + sha1 + "\"").get("/v1/blobs/" + sha1).then().statusCode(304);

        // Promote, then roll back by promoting the older version.
        as(ACME).contentType("application/json").body("{\"version\": 2}").post("/v1/tenants/acme/adapters/lifecycle/promote")
                .then().statusCode(200).body("active_version", equalTo(2));
        as(ACME).contentType("application/json").body("{\"version\": 1}").post("/v1/tenants/acme/adapters/lifecycle/promote")
                .then().statusCode(200).body("active_version", equalTo(1));
        as(ACME).contentType("application/json").body("{\"version\": 9}").post("/v1/tenants/acme/adapters/lifecycle/promote")
                .then().statusCode(404);

        // The active version cannot go while others remain; a non-active one can, and its blob with it.
        as(ACME).delete("/v1/tenants/acme/adapters/lifecycle/versions/1").then().statusCode(409).body("error.code", equalTo("conflict"));
        as(ACME).delete("/v1/tenants/acme/adapters/lifecycle/versions/2").then().statusCode(200).body("versions.version", equalTo(List.of(1)));
        assertFalse(blobExists(sha2), "an unreferenced blob is collected");
        as(ACME).get("/v1/blobs/" + sha2).then().statusCode(404);

        // A new upload never reuses a deleted version's number.
        uploadZip(ACME, "acme", "lifecycle", TestUploads.zip(AdapterType.LORA, 4, 3)).then().statusCode(201)
                .body("versions.version", equalTo(List.of(1, 3)));

        as(ACME).delete("/v1/tenants/acme/adapters/lifecycle").then().statusCode(204);
        as(ACME).get("/v1/tenants/acme/adapters/lifecycle").then().statusCode(404);
        assertFalse(blobExists(sha1));
        uploadZip(ACME, "acme", "lifecycle", v1Zip).then().statusCode(201).body("versions.version", equalTo(List.of(4)))
                .body("active_version", equalTo(4));
    }

    @Test
    void identicalUploadsShareOneBlobAndPromoteOnUploadWorks() {
        byte[] zip = TestUploads.zip(AdapterType.SCALE, 0, 5);
        String a = uploadZip(ACME, "acme", "twin-a", zip).then().statusCode(201).extract().path("versions[0].sha256");
        Response b = as(ACME).contentType("application/zip").body(zip).queryParam("promote", "true").put("/v1/tenants/acme/adapters/twin-a");
        b.then().statusCode(201).body("active_version", equalTo(2));
        assertEquals(a, b.path("versions[1].sha256"), "same files, same canonical archive, same blob");
    }

    @Test
    void anOperatorRecordsWhatProducedAVersion() {
        String operator = "Bearer operator-key";
        uploadZip(ACME, "acme", "lineage", TestUploads.zip(AdapterType.LORA, 4, 11)).then().statusCode(201)
                .body("versions[0].source", equalTo("upload"));
        String provenance = "{\"parent_version\": 1, \"job_id\": \"ftjob-abc123\", \"metrics\": {\"held_out_loss\": 2.5},"
                + " \"gate\": {\"passed\": false, \"reason\": \"held-out loss 2.5 > 2.25\"}}";
        as(operator).header("Chorus-Provenance", provenance).contentType("application/zip").body(TestUploads.zip(AdapterType.LORA, 4, 12))
                .put("/v1/tenants/acme/adapters/lineage").then().statusCode(201).body("active_version", equalTo(1));
        as(ACME).get("/v1/tenants/acme/adapters/lineage/versions/2").then().statusCode(200)
                .body("source", equalTo("job")).body("parent_version", equalTo(1)).body("job_id", equalTo("ftjob-abc123"))
                .body("metrics.held_out_loss", equalTo(2.5f)).body("gate.passed", equalTo(false))
                .body("gate.reason", equalTo("held-out loss 2.5 > 2.25"));

        as(ACME).header("Chorus-Provenance", provenance).contentType("application/zip").body(TestUploads.zip(AdapterType.LORA, 4, 13))
                .put("/v1/tenants/acme/adapters/lineage").then().statusCode(403).body("error.code", equalTo("forbidden"));
        Map<String, String> bad = Map.of("not json", "must be a JSON object", "{\"parent_version\": 9}", "parent version 9 is not a version",
                "{\"job_id\": \"job 1\"}", "jobId must look like", "{\"metrics\": {\"loss\": \"low\"}}", "metric loss is not a number");
        bad.forEach((header, message) -> as(operator).header("Chorus-Provenance", header).contentType("application/zip")
                .body(TestUploads.zip(AdapterType.LORA, 4, 14)).put("/v1/tenants/acme/adapters/lineage").then().statusCode(400)
                .body("error.code", equalTo("invalid_request")).body("error.message", containsString(message)));
        as(ACME).get("/v1/tenants/acme/adapters/lineage").then().body("versions.version", equalTo(List.of(1, 2)));
    }

    @Test
    void unauthenticatedRequestsGet401() {
        given().get("/v1/tenants/acme/adapters").then().statusCode(401).header("WWW-Authenticate", equalTo("Bearer"))
                .body("error.code", equalTo("invalid_api_key"));
        as("Bearer nope").put("/v1/tenants/acme/adapters/x").then().statusCode(401);
        given().get("/v1/blobs/" + "0".repeat(64)).then().statusCode(401);
    }

    @Test
    void notFoundAndBadNames() {
        as(ACME).get("/v1/tenants/acme/adapters/nothing-here").then().statusCode(404).body("error.code", equalTo("not_found"));
        as(ACME).get("/v1/blobs/" + "0".repeat(64)).then().statusCode(404);
        as(ACME).get("/v1/blobs/not-a-sha").then().statusCode(400);
        as(ACME).get("/v1/tenants/acme/adapters/bad%20name").then().statusCode(400);
        as(ACME).get("/v1/tenants/acme/adapters/x/versions/zero").then().statusCode(400);
        as(ACME).contentType("application/json").body("{\"v\": 1}").post("/v1/tenants/acme/adapters/x/promote").then().statusCode(400)
                .body("error.message", containsString("version"));
    }

    static boolean blobExists(String sha) {
        return Files.exists(TestUploads.blobDir().resolve(sha.substring(0, 2)).resolve(sha));
    }
}
