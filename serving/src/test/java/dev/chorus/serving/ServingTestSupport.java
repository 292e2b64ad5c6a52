package dev.chorus.serving;

import static io.restassured.RestAssured.given;

import io.quarkus.test.common.http.TestHTTPResourceManager;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Shared helpers for the REST Assured tests against the one running application. */
final class ServingTestSupport {
    /** Reference greedy continuation of "Tom found a shiny key" by TinyStories-656K, 64 tokens (shared/models/README.md). */
    static final String TOM_REFERENCE = ". He wanted to play with it. He tried to reach it, but it was too heavy for himself. He tried to reach it, "
            + "but it was too heavy for him.\nTom tried to reach it. He tried to push the knot. He pulled and pulled, but the stight was too "
            + "heavy for him. Tom was sad. He tried to get his tail back, but he could not reach it.\nTom was sad";
    static final String MODEL = "TinyStories-656K";
    /** The demo tenant's key from application.properties. */
    static final String DEMO_AUTH = "Bearer chorus-demo-key";
    /** Keys of the test profile's tenants and operator (their SHA-256 digests are configured). */
    static final String ACME_AUTH = "Bearer acme-key";
    static final String ACME_AUTH_ROTATED = "Bearer acme-key-2";
    static final String GLOBEX_AUTH = "Bearer globex-key";
    static final String OPERATOR_AUTH = "Bearer operator-key";

    private ServingTestSupport() {
    }

    /** The model loads in the background after startup; wait for readiness. */
    static void awaitReady() {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (given().get("/q/health/ready").statusCode() == 200) {
                return;
            }
            sleep(200);
        }
        throw new AssertionError("model not ready after 60 s: " + given().get("/q/health/ready").asString());
    }

    /** A request as the demo tenant. */
    static RequestSpecification api() {
        return as(DEMO_AUTH);
    }

    static RequestSpecification as(String authorization) {
        return given().header("Authorization", authorization);
    }

    static Response post(Object body) {
        return api().contentType(ContentType.JSON).body(body).post("/v1/completions");
    }

    static Map<String, Object> greedy(String prompt, int maxTokens) {
        return new java.util.HashMap<>(Map.of("prompt", prompt, "max_tokens", maxTokens, "temperature", 0));
    }

    /** The data payloads of an SSE body, in order. */
    static List<String> sseData(String body) {
        List<String> data = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.isBlank()) {
                continue;
            }
            if (!event.startsWith("data: ") || event.indexOf('\n') >= 0) {
                throw new AssertionError("not a single-line data event: " + event);
            }
            data.add(event.substring("data: ".length()));
        }
        return data;
    }

    /** A Prometheus sample's value, 0 when the series is absent. */
    static double metric(String metrics, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
    }

    static String scrape() {
        return given().baseUri(TestHTTPResourceManager.getManagementUri()).get("/metrics").then().statusCode(200).extract().asString();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
