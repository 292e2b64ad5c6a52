package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.post;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.hamcrest.Matchers.matchesPattern;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@QuarkusTest
class CompletionValidationTest {

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
                Arguments.of("malformed JSON", "{\"prompt\": \"Tom\",", null),
                Arguments.of("trailing garbage", "{\"prompt\": \"Tom\"} x", null),
                Arguments.of("not an object", "[\"Tom\"]", null),
                Arguments.of("missing prompt", "{\"max_tokens\": 5}", "prompt"),
                Arguments.of("prompt of wrong type", "{\"prompt\": 5}", "prompt"),
                Arguments.of("prompt array of two", "{\"prompt\": [\"a\", \"b\"]}", "prompt"),
                Arguments.of("max_tokens 0", "{\"prompt\": \"Tom\", \"max_tokens\": 0}", "max_tokens"),
                Arguments.of("max_tokens beyond context", "{\"prompt\": \"Tom\", \"max_tokens\": 100000}", "max_tokens"),
                Arguments.of("max_tokens string", "{\"prompt\": \"Tom\", \"max_tokens\": \"abc\"}", "max_tokens"),
                Arguments.of("max_tokens fraction", "{\"prompt\": \"Tom\", \"max_tokens\": 1.5}", "max_tokens"),
                Arguments.of("temperature -1", "{\"prompt\": \"Tom\", \"temperature\": -1}", "temperature"),
                Arguments.of("temperature 2.5", "{\"prompt\": \"Tom\", \"temperature\": 2.5}", "temperature"),
                Arguments.of("temperature string", "{\"prompt\": \"Tom\", \"temperature\": \"hot\"}", "temperature"),
                Arguments.of("top_p 0", "{\"prompt\": \"Tom\", \"top_p\": 0}", "top_p"),
                Arguments.of("top_p 1.5", "{\"prompt\": \"Tom\", \"top_p\": 1.5}", "top_p"),
                Arguments.of("top_k -1", "{\"prompt\": \"Tom\", \"top_k\": -1}", "top_k"),
                Arguments.of("seed string", "{\"prompt\": \"Tom\", \"seed\": \"x\"}", "seed"),
                Arguments.of("five stop strings", "{\"prompt\": \"Tom\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"),
                Arguments.of("stop of numbers", "{\"prompt\": \"Tom\", \"stop\": [1]}", "stop"),
                Arguments.of("n 2", "{\"prompt\": \"Tom\", \"n\": 2}", "n"),
                Arguments.of("stream not boolean", "{\"prompt\": \"Tom\", \"stream\": \"yes\"}", "stream"),
                Arguments.of("stream_options without stream", "{\"prompt\": \"Tom\", \"stream_options\": {\"include_usage\": true}}",
                        "stream_options"),
                Arguments.of("model of wrong type", "{\"prompt\": \"Tom\", \"model\": 3}", "model"),
                Arguments.of("echo", "{\"prompt\": \"Tom\", \"echo\": true}", "echo"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void rejectedWith400(String description, String body, String param) {
        ServingTestSupport.api().contentType(ContentType.JSON).body(body).post("/v1/completions").then()
                .statusCode(400)
                .contentType("application/json")
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.message", not(emptyOrNullString()))
                .body("error.message", not(containsString("Exception")))
                .body("error.message", not(matchesPattern(JAVA_NAME)))
                .body("error.param", equalTo(param));
    }

    /** A Java class or package name anywhere in a message (the JSON decoder's own messages carry them). */
    static final String JAVA_NAME = "(?s).*(`|\\b(java|javax|io\\.vertx|io\\.netty|com\\.fasterxml)\\.[a-zA-Z]).*";

    @Test
    void unknownRoutesAndWrongMethodsGetOpenAiErrors() {
        ServingTestSupport.api().get("/v1/engines").then().statusCode(404).contentType("application/json")
                .body("error.type", equalTo("invalid_request_error")).body("error.code", equalTo("not_found"))
                .body("error.message", containsString("/v1/engines"));
        ServingTestSupport.api().get("/v1/completions").then().statusCode(405).contentType("application/json")
                .body("error.code", equalTo("method_not_allowed"));
        ServingTestSupport.api().delete("/v1/models").then().statusCode(405).contentType("application/json");
    }

    @Test
    void aBodyBeyondTheHttpLayersDefaultCutOffStillGetsAJson413() {
        // 11 MB: the HTTP layer's default limit (10 MiB) used to answer first, with an empty body.
        post("{\"prompt\": \"" + "a".repeat(11_000_000) + "\"}").then().statusCode(413).contentType("application/json")
                .body("error.code", equalTo("request_too_large")).body("error.message", containsString("1048576"));
    }

    @Test
    void contextOverflowUsesOpenAisCode() {
        post("{\"prompt\": \"Tom found a shiny key\", \"max_tokens\": 506}").then().statusCode(400)
                .body("error.code", equalTo("context_length_exceeded"))
                .body("error.message", containsString("512"));
        // 7 prompt tokens + 505 fills the 512-token context exactly: accepted.
        post("{\"prompt\": \"Tom found a shiny key\", \"max_tokens\": 505, \"stop\": \".\", \"temperature\": 0}").then().statusCode(200);
    }

    @Test
    void emptyBodyIs400() {
        ServingTestSupport.api().post("/v1/completions").then().statusCode(400).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void oversizedBodyIs413WithAnOpenAiError() {
        String prompt = "a".repeat(1_100_000);
        post("{\"prompt\": \"" + prompt + "\"}").then().statusCode(413)
                .body("error.code", equalTo("request_too_large"));
    }
}
