package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.MODEL;
import static dev.chorus.serving.ServingTestSupport.TOM_REFERENCE;
import static dev.chorus.serving.ServingTestSupport.greedy;
import static dev.chorus.serving.ServingTestSupport.post;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class CompletionsTest {

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    @Test
    void greedyCompletionMatchesTheReferenceContinuation() {
        long before = System.currentTimeMillis() / 1000;
        JsonPath body = post(greedy("Tom found a shiny key", 20)).then()
                .statusCode(200)
                .contentType("application/json")
                .body("object", equalTo("text_completion"))
                .body("model", equalTo(MODEL))
                .body("id", startsWith("cmpl-"))
                .body("choices.size()", equalTo(1))
                .body("choices[0].index", equalTo(0))
                .body("choices[0].logprobs", equalTo(null))
                .body("choices[0].finish_reason", equalTo("length"))
                .body("usage.prompt_tokens", equalTo(7))
                .body("usage.completion_tokens", equalTo(20))
                .body("usage.total_tokens", equalTo(27))
                .extract().jsonPath();
        String text = body.getString("choices[0].text");
        assertTrue(TOM_REFERENCE.startsWith(text), () -> "not a prefix of the reference: " + text);
        // Exactly the reference's first 20 tokens (ids 891 ... 1512 in the README), held-back space included.
        assertEquals(". He wanted to play with it. He tried to reach it, but it was too heavy for himself. He tried to reach it, but it was ", text);
        long created = body.getLong("created");
        assertTrue(created >= before, "created " + created + " before the request was sent");
        assertTrue(created <= System.currentTimeMillis() / 1000 + 1, "created " + created + " in the future");
    }

    @Test
    void stopStringTruncatesBeforeIt() {
        Map<String, Object> request = greedy("Tom found a shiny key", 20);
        request.put("stop", List.of("play"));
        post(request).then().statusCode(200)
                .body("choices[0].text", equalTo(". He wanted to "))
                .body("choices[0].finish_reason", equalTo("stop"))
                .body("usage.prompt_tokens", equalTo(7));
    }

    @Test
    void singleStopStringAndPromptArrayAreAccepted() {
        Map<String, Object> request = greedy("Tom found a shiny key", 20);
        request.put("prompt", List.of("Tom found a shiny key"));
        request.put("stop", "play");
        post(request).then().statusCode(200)
                .body("choices[0].text", equalTo(". He wanted to "))
                .body("choices[0].finish_reason", equalTo("stop"));
    }

    @Test
    void sameSeedGivesTheSameSampledText() {
        Map<String, Object> request = Map.of("prompt", "Once upon a time", "max_tokens", 40, "temperature", 1.0, "seed", 42);
        String first = text(request);
        String second = text(request);
        assertEquals(first, second);
        assertTrue(first.length() > 20, first);
        // Sampling really happens: other seeds diverge somewhere.
        boolean anyDifferent = false;
        for (int seed = 1; seed <= 3 && !anyDifferent; seed++) {
            anyDifferent = !first.equals(text(Map.of("prompt", "Once upon a time", "max_tokens", 40, "temperature", 1.0, "seed", seed)));
        }
        assertTrue(anyDifferent, "three other seeds all reproduced seed 42's text");
    }

    @Test
    void unknownAndIgnorableFieldsAreTolerated() {
        Map<String, Object> request = greedy("Tom found a shiny key", 5);
        request.put("user", "someone");
        request.put("presence_penalty", 0);
        request.put("x_custom", Map.of("nested", true));
        request.put("model", MODEL);
        request.put("n", 1);
        request.put("top_k", 0);
        request.put("top_p", 1);
        request.put("stream", false);
        String text = post(request).then().statusCode(200)
                .body("usage.completion_tokens", equalTo(5))
                .extract().path("choices[0].text");
        assertFalse(text.isEmpty(), "some text generated");
        assertTrue(TOM_REFERENCE.startsWith(text), "a prefix of the reference: " + text);
    }

    @Test
    void unknownModelIs404() {
        Map<String, Object> request = greedy("Tom", 5);
        request.put("model", "gpt-4");
        post(request).then().statusCode(404)
                .body("error.code", equalTo("model_not_found"))
                .body("error.param", equalTo("model"))
                .body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void defaultsToSixteenTokens() {
        post(Map.of("prompt", "Tom found a shiny key", "temperature", 0)).then().statusCode(200)
                .body("usage.completion_tokens", equalTo(16));
    }

    @Test
    void modelsListsTheServedModel() {
        ServingTestSupport.api().get("/v1/models").then().statusCode(200)
                .body("object", equalTo("list"))
                .body("data[0].id", equalTo(MODEL))
                .body("data[0].max_model_len", equalTo(512));
    }

    @Test
    void differentPromptsGiveDifferentText() {
        assertNotEquals(text(greedy("Tom found a shiny key", 10)), text(greedy("Lily saw a big dog", 10)));
    }

    static String text(Map<String, Object> request) {
        return post(request).then().statusCode(200).extract().path("choices[0].text");
    }
}
