package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.ACME_AUTH;
import static dev.chorus.serving.TenantIsolationTest.complete;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A new version becomes active while a tenant's streams run on the old one: they finish on the old
 * version, the next request gets the new one, and nothing fails.
 */
@QuarkusTest
class AdapterHotSwapTest {
    private static final String PROMPT = "Once upon a time";
    private static final int STREAM_TOKENS = 300;

    @TestHTTPResource("/v1/completions")
    URI completions;

    static Map<String, Object> request(String model, int tokens) {
        Map<String, Object> request = ServingTestSupport.greedy(PROMPT, tokens);
        request.put("model", model);
        return request;
    }

    @Test
    void streamsFinishOnTheirVersionWhileNewRequestsGetTheNewOne() throws Exception {
        ServingTestSupport.awaitReady();
        TestAdapters.clear("acme", "storyteller");
        TestAdapters.publish("acme", "storyteller", 1, AdapterType.LORA, 8, 31);
        String v1Text = text(complete(ACME_AUTH, request("storyteller", STREAM_TOKENS)), "storyteller@1");

        List<SseClient> streams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            JsonObject body = JsonObject.mapFrom(request("storyteller", STREAM_TOKENS)).put("stream", true);
            streams.add(new SseClient(completions, ACME_AUTH, body.encode()));
        }
        for (SseClient s : streams) {
            s.awaitFirstChunk();
        }
        TestAdapters.publish("acme", "storyteller", 2, AdapterType.LORA, 8, 32); // v2 is now the active version

        Response next = complete(ACME_AUTH, request("storyteller", 16));
        long nextAnswered = System.nanoTime();
        String v2Short = text(next, "storyteller@2");

        for (SseClient s : streams) {
            s.awaitDone();
            assertNull(s.error(), "no request fails");
            assertEquals("storyteller@1", s.model());
            assertEquals(v1Text, s.text(), "a stream keeps the version it started with");
        }
        assertTrue(streams.stream().anyMatch(s -> s.finishedNanos() > nextAnswered),
                "the v2 request was answered while the v1 streams were still running");
        assertEquals(v2Short, text(complete(ACME_AUTH, request("storyteller@2", 16)), "storyteller@2"));
        assertNotEquals(v1Text.substring(0, Math.min(v1Text.length(), v2Short.length())), v2Short, "v2 is a different adapter");
        assertEquals(v1Text, text(complete(ACME_AUTH, request("storyteller@1", STREAM_TOKENS)), "storyteller@1"),
                "v1 stays addressable by version");
    }

    static String text(Response response, String model) {
        return TenantIsolationTest.text(response, model);
    }
}
