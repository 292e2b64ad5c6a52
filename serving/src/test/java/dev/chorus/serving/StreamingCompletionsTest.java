package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.greedy;
import static dev.chorus.serving.ServingTestSupport.post;
import static dev.chorus.serving.ServingTestSupport.sseData;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class StreamingCompletionsTest {

    @TestHTTPResource("/v1/completions")
    URL completions;

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    @Test
    void streamedDeltasConcatenateToTheNonStreamingText() {
        String expected = CompletionsTest.text(greedy("Tom found a shiny key", 20));

        Map<String, Object> request = greedy("Tom found a shiny key", 20);
        request.put("stream", true);
        request.put("stream_options", Map.of("include_usage", true));
        Response response = post(request);
        assertEquals(200, response.statusCode());
        assertTrue(response.contentType().startsWith("text/event-stream"), response.contentType());
        List<String> events = sseData(response.asString());

        assertEquals("[DONE]", events.get(events.size() - 1));
        List<JsonObject> chunks = events.subList(0, events.size() - 1).stream().map(JsonObject::new).toList();
        JsonObject usage = chunks.get(chunks.size() - 1);
        JsonObject closing = chunks.get(chunks.size() - 2);
        List<JsonObject> deltas = chunks.subList(0, chunks.size() - 2);

        StringBuilder text = new StringBuilder();
        String id = chunks.get(0).getString("id");
        assertTrue(id.startsWith("cmpl-"), id);
        for (JsonObject chunk : deltas) {
            assertEquals(id, chunk.getString("id"));
            assertEquals("text_completion", chunk.getString("object"));
            assertEquals(ServingTestSupport.MODEL, chunk.getString("model"));
            JsonObject choice = chunk.getJsonArray("choices").getJsonObject(0);
            assertTrue(choice.containsKey("finish_reason"), "finish_reason present: " + chunk.encode());
            assertNull(choice.getValue("finish_reason"), "finish_reason null until the end: " + chunk.encode());
            assertTrue(!choice.getString("text").isEmpty(), "empty delta event: " + chunk.encode());
            text.append(choice.getString("text"));
        }
        assertEquals(expected, text.toString());
        assertTrue(deltas.size() >= 10, "expected one event per token, got " + deltas.size());

        JsonObject finish = closing.getJsonArray("choices").getJsonObject(0);
        assertEquals("length", finish.getString("finish_reason"));
        assertEquals("", finish.getString("text"));

        assertEquals(0, usage.getJsonArray("choices").size());
        assertEquals(7, usage.getJsonObject("usage").getInteger("prompt_tokens"));
        assertEquals(20, usage.getJsonObject("usage").getInteger("completion_tokens"));
        assertEquals(27, usage.getJsonObject("usage").getInteger("total_tokens"));
    }

    @Test
    void withoutIncludeUsageTheStreamEndsWithTheFinishChunk() {
        Map<String, Object> request = greedy("Tom found a shiny key", 20);
        request.put("stream", true);
        request.put("stop", List.of("play"));
        List<String> events = sseData(post(request).then().statusCode(200).extract().asString());
        assertEquals("[DONE]", events.get(events.size() - 1));
        StringBuilder text = new StringBuilder();
        for (String event : events.subList(0, events.size() - 1)) {
            JsonObject chunk = new JsonObject(event);
            assertNull(chunk.getValue("usage"), event);
            text.append(chunk.getJsonArray("choices").getJsonObject(0).getString("text"));
        }
        assertEquals(". He wanted to ", text.toString());
        JsonObject last = new JsonObject(events.get(events.size() - 2));
        assertEquals("stop", last.getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
    }

    @Test
    void clientDisconnectCancelsTheGeneration() throws Exception {
        double cancelledBefore = cancelled();
        double tokensBefore = completionTokens();
        HttpURLConnection connection = (HttpURLConnection) completions.openConnection();
        connection.setRequestProperty("Authorization", ServingTestSupport.DEMO_AUTH);
        connection.setRequestMethod("POST");
        connection.setDoOutput(true);
        connection.setRequestProperty("Content-Type", "application/json");
        try (OutputStream out = connection.getOutputStream()) {
            // Long enough (the whole context) that it cannot finish before we hang up.
            out.write("{\"prompt\":\"Once\",\"max_tokens\":500,\"temperature\":1,\"seed\":3,\"stream\":true}".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(200, connection.getResponseCode());
        BufferedReader reader = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8));
        assertTrue(reader.readLine().startsWith("data: {"));
        connection.disconnect(); // closes the socket mid-stream

        long deadline = System.nanoTime() + 20_000_000_000L;
        while (cancelled() < cancelledBefore + 1 && System.nanoTime() < deadline) {
            ServingTestSupport.sleep(100);
        }
        assertEquals(cancelledBefore + 1, cancelled());
        double generated = completionTokens() - tokensBefore;
        assertTrue(generated >= 1, "some tokens generated before the cancel: " + generated);
        assertTrue(generated < 500, "the engine stopped early, not at max_tokens: " + generated);
        // The cancelled sequence left the batch.
        deadline = System.nanoTime() + 10_000_000_000L;
        while (runningRequests() > 0 && System.nanoTime() < deadline) {
            ServingTestSupport.sleep(100);
        }
        assertEquals(0.0, runningRequests());
    }

    private static double cancelled() {
        return ServingTestSupport.metric(ServingTestSupport.scrape(), "chorus_completion_requests_total{outcome=\"cancelled\"}");
    }

    private static double completionTokens() {
        return ServingTestSupport.metric(ServingTestSupport.scrape(), "chorus_completion_tokens_total");
    }

    private static double runningRequests() {
        return ServingTestSupport.metric(ServingTestSupport.scrape(), "vllm:num_requests_running");
    }
}
