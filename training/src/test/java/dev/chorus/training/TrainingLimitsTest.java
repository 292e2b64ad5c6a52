package dev.chorus.training;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResourceManager;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The edge's per-tenant limits on training (%test profile: one upload per tenant at a time, none
 * waiting; tenant "limited" may send 2 requests per second), and its metrics on the management
 * interface only.
 */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class TrainingLimitsTest {
    static final String ACME = FilesApiTest.ACME;
    static final String GLOBEX = FilesApiTest.GLOBEX;
    static final String UPLOADER = "Bearer uploader-key"; // this test's own tenant

    @Test
    void aTenantsSecondConcurrentUploadGets429WhileOthersProceed() throws Exception {
        try (Socket slow = new Socket("localhost", RestAssured.port)) {
            // An upload whose body never finishes arriving: it holds acme's one upload place.
            OutputStream out = slow.getOutputStream();
            out.write(("POST /v1/files HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + UPLOADER + "\r\n"
                    + "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
                    + "Content-Disposition: form-data; name=\"file\"; filename=\"slow.jsonl\"\r\n\r\n{\"prompt\": \"a\"")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Response busy = await(() -> FilesApiTest.upload(UPLOADER, "train.jsonl", FilesApiTest.SUPERVISED), 429);
            busy.then().statusCode(429).header("Retry-After", equalTo("1")).body("error.code", equalTo("tenant_busy"))
                    .body("error.message", containsString("uploading"));
            // Only uploads of that tenant wait: its other requests and another tenant's uploads go ahead.
            FilesApiTest.as(UPLOADER).get("/v1/files").then().statusCode(200);
            FilesApiTest.upload(GLOBEX, "train.jsonl", FilesApiTest.SUPERVISED).then().statusCode(200);
        }
        // The client left: its place is free again.
        await(() -> FilesApiTest.upload(UPLOADER, "train.jsonl", FilesApiTest.SUPERVISED), 200).then().statusCode(200);
    }

    @Test
    void requestsBeyondTheTenantsRateGet429WithRetryAfterAndRateLimitHeaders() {
        Response first = FilesApiTest.as("Bearer limited-key").get("/v1/files");
        first.then().statusCode(200).header("x-ratelimit-limit-requests", equalTo("2")).header("x-ratelimit-reset-requests", notNullValue());
        Response limited = null;
        for (int i = 0; i < 5 && (limited == null || limited.statusCode() != 429); i++) { // a bucket of 2, refilled at 2/s
            limited = FilesApiTest.as("Bearer limited-key").get("/v1/files");
        }
        limited.then().statusCode(429).header("Retry-After", equalTo("1")).header("x-ratelimit-remaining-requests", equalTo("0"))
                .body("error.code", equalTo("rate_limit_exceeded"));
        FilesApiTest.upload("Bearer limited-key", "train.jsonl", FilesApiTest.SUPERVISED).then().statusCode(429); // uploads too
        for (int i = 0; i < 5; i++) {
            FilesApiTest.as(ACME).get("/v1/files").then().statusCode(200); // others are not limited
        }
        FilesApiTest.as("Bearer wrong-key").get("/v1/files").then().statusCode(401); // strangers still get the route's 401
    }

    @Test
    void metricsAreOnTheManagementInterfaceOnly() {
        given().get("/q/metrics").then().statusCode(404);
        String metrics = given().baseUri(TestHTTPResourceManager.getManagementUri()).get("/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("chorus_training_examples_processed_total"), "examples counter");
        assertFalse(metrics.contains("acme"), "no tenant names");
        assertEquals(200, given().get("/q/health/live").statusCode(), "probes stay on the API port");
    }

    /** Repeats {@code call} until it answers {@code status} (at most 10 s); returns the last answer. */
    static Response await(Supplier<Response> call, int status) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        Response r = call.get();
        while (r.statusCode() != status && System.nanoTime() < end) {
            Thread.sleep(100);
            r = call.get();
        }
        return r;
    }
}
