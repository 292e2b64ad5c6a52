package dev.chorus.serving;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With one batch slot and no queue, a second request while one streams is turned away with 429. */
@QuarkusTest
@TestProfile(EngineOverloadTest.OneSlot.class)
class EngineOverloadTest {

    public static class OneSlot implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("chorus.engine.max-batch", "1", "chorus.engine.max-waiting", "0");
        }
    }

    @TestHTTPResource("/v1/completions")
    URL completions;

    @Test
    void secondRequestGets429WithRetryAfter() throws Exception {
        ServingTestSupport.awaitReady();
        HttpURLConnection first = (HttpURLConnection) completions.openConnection();
        first.setRequestProperty("Authorization", ServingTestSupport.DEMO_AUTH);
        first.setRequestMethod("POST");
        first.setDoOutput(true);
        try (OutputStream out = first.getOutputStream()) {
            out.write("{\"prompt\":\"Once\",\"max_tokens\":500,\"temperature\":1,\"seed\":3,\"stream\":true}".getBytes(StandardCharsets.UTF_8));
        }
        try {
            assertEquals(200, first.getResponseCode());
            BufferedReader reader = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(reader.readLine().startsWith("data: {")); // it holds the only slot now

            ServingTestSupport.post("{\"prompt\": \"Tom\", \"max_tokens\": 5}").then().statusCode(429)
                    .header("Retry-After", equalTo("1"))
                    .body("error.type", equalTo("rate_limit_error"))
                    .body("error.code", equalTo("engine_overloaded"));
        } finally {
            first.disconnect();
        }
        // Once the first is cancelled the slot frees up again.
        long deadline = System.nanoTime() + 20_000_000_000L;
        int status;
        do {
            ServingTestSupport.sleep(100);
            status = ServingTestSupport.post("{\"prompt\": \"Tom\", \"max_tokens\": 5}").statusCode();
        } while (status == 429 && System.nanoTime() < deadline);
        assertEquals(200, status);
    }
}
