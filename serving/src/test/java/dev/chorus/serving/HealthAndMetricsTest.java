package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.greedy;
import static dev.chorus.serving.ServingTestSupport.metric;
import static dev.chorus.serving.ServingTestSupport.post;
import static dev.chorus.serving.ServingTestSupport.scrape;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class HealthAndMetricsTest {

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    @Test
    void readyAndLive() {
        given().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItem("model"))
                .body("checks.find { it.name == 'model' }.data.model", equalTo(ServingTestSupport.MODEL))
                .body("checks.find { it.name == 'model' }.data.context_length", equalTo(512));
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void completionsAreCounted() {
        String before = scrape();
        post(greedy("Tom found a shiny key", 20)).then().statusCode(200);
        post("{\"prompt\": \"Tom\", \"max_tokens\": 0}").then().statusCode(400);
        String after = scrape();

        assertEquals(1.0, delta(before, after, "chorus_completion_requests_total{outcome=\"completed\"}"));
        assertEquals(1.0, delta(before, after, "chorus_completion_requests_total{outcome=\"invalid_request\"}"));
        assertEquals(7.0, delta(before, after, "chorus_prompt_tokens_total"));
        assertEquals(20.0, delta(before, after, "chorus_completion_tokens_total"));
        assertEquals(1.0, delta(before, after, "chorus_time_to_first_token_seconds_count"));
        assertEquals(1.0, delta(before, after, "chorus_completion_duration_seconds_count{stream=\"false\"}"));
        assertTrue(delta(before, after, "chorus_engine_decode_steps_total") >= 19, "one decode step per token after the first");
        assertTrue(delta(before, after, "chorus_engine_generated_tokens_total") >= 20);
        for (String name : new String[] {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
            "chorus_engine_batch_size", "chorus_completion_requests_total{outcome=\"overloaded\"}"}) {
            assertTrue(after.contains("\n" + name), () -> name + " missing from /q/metrics");
        }
        assertEquals(1.0, metric(after, "chorus_engine_batch_size"), "a lone request decodes alone");
    }

    private static double delta(String before, String after, String series) {
        return metric(after, series) - metric(before, series);
    }
}
