package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.ACME_AUTH;
import static dev.chorus.serving.ServingTestSupport.MODEL;
import static dev.chorus.serving.ServingTestSupport.metric;
import static dev.chorus.serving.ServingTestSupport.scrape;
import static dev.chorus.serving.TenantIsolationTest.complete;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A broken adapter fails only its own requests; adapter use shows in the gateway and cache metrics. */
@QuarkusTest
class AdapterLoadFailureTest {

    @TestHTTPResource("/v1/completions")
    URI completions;

    @BeforeAll
    static void adapters() {
        TestAdapters.clear("acme", "broken");
        TestAdapters.clear("acme", "narrator");
        TestAdapters.publishCorrupt("acme", "broken", 1);
        TestAdapters.publish("acme", "narrator", 1, AdapterType.SCALE, 0, 41);
    }

    static Map<String, Object> request(String model, int tokens) {
        Map<String, Object> request = ServingTestSupport.greedy("Tom found a shiny key", tokens);
        request.put("model", model);
        return request;
    }

    @Test
    void aCorruptAdapterFailsItsRequestsWhileOthersComplete() throws Exception {
        ServingTestSupport.awaitReady();
        // A long base stream and a long stream on a good adapter run while the broken adapter is asked for.
        SseClient base = new SseClient(completions, ACME_AUTH, JsonObject.mapFrom(request(MODEL, 300)).put("stream", true).encode());
        SseClient good = new SseClient(completions, ACME_AUTH, JsonObject.mapFrom(request("narrator", 300)).put("stream", true).encode());
        base.awaitFirstChunk();
        good.awaitFirstChunk();

        complete(ACME_AUTH, request("broken", 8)).then().statusCode(422)
                .body("error.code", equalTo("adapter_unusable"))
                .body("error.param", equalTo("model"))
                .body("error.message", containsString("broken@1"))
                .body("error.message", not(containsString(TestAdapters.root().toString()))); // no server paths
        // Streaming: the 200 is already out, so the failure comes in-band, then the stream ends.
        SseClient brokenStream = new SseClient(completions, ACME_AUTH, JsonObject.mapFrom(request("broken", 8)).put("stream", true).encode());
        brokenStream.awaitDone();
        assertNotNull(brokenStream.error(), "the broken adapter's stream ends with an error");
        assertTrue(brokenStream.error().contains("adapter_unusable"), brokenStream.error());

        base.awaitDone();
        good.awaitDone();
        assertEquals(null, base.error());
        assertEquals(null, good.error());
        assertEquals(ServingTestSupport.TOM_REFERENCE.substring(0, 40), base.text().substring(0, 40), "the base stream is untouched");
        assertEquals("narrator@1", good.model());
        // Asked again, the adapter fails again (not cached as good); the server keeps serving.
        complete(ACME_AUTH, request("broken", 8)).then().statusCode(422);
        complete(ACME_AUTH, request("narrator", 8)).then().statusCode(200);
    }

    @Test
    void adapterUseShowsInTheMetrics() throws Exception {
        ServingTestSupport.awaitReady();
        double missesBefore = metric(scrape(), "chorus_adapter_cache_misses_total");
        double loadsBefore = metric(scrape(), "chorus_adapter_load_duration_seconds_count");
        TestAdapters.clear("acme", "metered");
        TestAdapters.publish("acme", "metered", 1, AdapterType.LORA, 4, 51);

        // Decoding on the host, one 450-token stream can end between two scrapes: streams on the adapter
        // follow one another until the gateway metric has shown it running.
        String body = JsonObject.mapFrom(request("metered", 450)).put("stream", true).encode();
        AtomicBoolean seen = new AtomicBoolean();
        CompletableFuture<Void> streams = CompletableFuture.runAsync(() -> {
            while (!seen.get()) {
                try {
                    SseClient stream = new SseClient(completions, ACME_AUTH, body);
                    stream.awaitDone();
                    assertNull(stream.error());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        String running = awaitLoraInfo(true);
        seen.set(true);
        assertTrue(running.contains("max_lora=\"8\""), running);
        streams.get(120, TimeUnit.SECONDS);
        awaitLoraInfo(false);

        String metrics = scrape();
        assertEquals(missesBefore + 1, metric(metrics, "chorus_adapter_cache_misses_total"), "one cold load into a slot");
        assertEquals(loadsBefore + 1, metric(metrics, "chorus_adapter_load_duration_seconds_count"));
        assertTrue(metric(metrics, "chorus_adapter_resident_device") >= 1, metrics);
        complete(ACME_AUTH, request("metered", 4)).then().statusCode(200);
        assertTrue(metric(scrape(), "chorus_adapter_cache_hits_total") >= 1, "the second request finds it resident");
    }

    /** Waits until vllm:lora_requests_info lists (or no longer lists) acme/metered@1 as running; returns the series. */
    private static String awaitLoraInfo(boolean running) {
        Pattern series = Pattern.compile("(?m)^vllm:lora_requests_info\\{[^}]*}");
        long deadline = System.nanoTime() + 60_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            Matcher m = series.matcher(scrape());
            if (m.find()) {
                last = m.group();
                Matcher adapters = Pattern.compile("running_lora_adapters=\"([^\"]*)\"").matcher(last);
                if (adapters.find() && java.util.Arrays.asList(adapters.group(1).split(",")).contains("acme/metered@1") == running) {
                    return last;
                }
            }
            ServingTestSupport.sleep(50);
        }
        throw new AssertionError("vllm:lora_requests_info never showed acme/metered@1 " + (running ? "running" : "gone") + "; last: " + last);
    }
}
