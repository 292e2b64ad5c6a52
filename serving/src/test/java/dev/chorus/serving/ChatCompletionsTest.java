package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.MODEL;
import static dev.chorus.serving.ServingTestSupport.TOM_REFERENCE;
import static dev.chorus.serving.ServingTestSupport.api;
import static dev.chorus.serving.ServingTestSupport.sseData;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** POST /v1/chat/completions: messages become the prompt; responses in OpenAI's chat shapes. */
@QuarkusTest
class ChatCompletionsTest {

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    static Response chat(Object body) {
        return api().contentType(ContentType.JSON).body(body).post("/v1/chat/completions");
    }

    static Map<String, Object> greedyChat(List<Map<String, Object>> messages, int maxTokens) {
        return new HashMap<>(Map.of("model", MODEL, "messages", messages, "max_completion_tokens", maxTokens, "temperature", 0));
    }

    static Map<String, Object> user(Object content) {
        return Map.of("role", "user", "content", content);
    }

    @Test
    void aUserMessageIsContinuedLikeTheSamePrompt() {
        // The model has no chat template: the message text is the prompt, so the reference continuation applies.
        Response response = chat(greedyChat(List.of(user("Tom found a shiny key")), 64));
        response.then().statusCode(200)
                .body("object", equalTo("chat.completion"))
                .body("id", startsWith("chatcmpl-"))
                .body("model", equalTo(MODEL))
                .body("choices[0].index", equalTo(0))
                .body("choices[0].message.role", equalTo("assistant"))
                .body("choices[0].finish_reason", equalTo("length"))
                .body("usage.prompt_tokens", equalTo(7))
                .body("usage.completion_tokens", equalTo(64));
        String content = response.path("choices[0].message.content");
        assertEquals(TOM_REFERENCE, content);
    }

    @Test
    void messagesAreJoinedLineByLineAndTextPartsConcatenated() {
        String joined = chat(greedyChat(List.of(
                Map.of("role", "system", "content", "Tom found"),
                user(List.of(Map.of("type", "text", "text", "a shiny "), Map.of("type", "text", "text", "key")))), 12))
                .then().statusCode(200).extract().path("choices[0].message.content");
        Map<String, Object> completion = ServingTestSupport.greedy("Tom found\na shiny key", 12);
        assertEquals(CompletionsTest.text(completion), joined);
    }

    @Test
    void streamingSendsTheRoleThenDeltasThatConcatenateToTheBufferedAnswer() {
        String buffered = chat(greedyChat(List.of(user("Tom found a shiny key")), 20)).then().statusCode(200)
                .extract().path("choices[0].message.content");
        Map<String, Object> request = greedyChat(List.of(user("Tom found a shiny key")), 20);
        request.put("stream", true);
        request.put("stream_options", Map.of("include_usage", true));
        List<String> events = sseData(chat(request).then().statusCode(200).extract().asString());

        assertEquals("[DONE]", events.get(events.size() - 1));
        List<JsonObject> chunks = events.subList(0, events.size() - 1).stream().map(JsonObject::new).toList();
        JsonObject opening = chunks.get(0).getJsonArray("choices").getJsonObject(0);
        assertEquals("assistant", opening.getJsonObject("delta").getString("role"));
        StringBuilder text = new StringBuilder();
        for (JsonObject chunk : chunks.subList(1, chunks.size() - 2)) {
            assertEquals("chat.completion.chunk", chunk.getString("object"));
            JsonObject choice = chunk.getJsonArray("choices").getJsonObject(0);
            assertNull(choice.getValue("finish_reason"));
            text.append(choice.getJsonObject("delta").getString("content"));
        }
        assertEquals(buffered, text.toString());
        JsonObject closing = chunks.get(chunks.size() - 2).getJsonArray("choices").getJsonObject(0);
        assertEquals("length", closing.getString("finish_reason"));
        assertTrue(closing.getJsonObject("delta").isEmpty(), closing.encode());
        assertEquals(20, chunks.get(chunks.size() - 1).getJsonObject("usage").getInteger("completion_tokens"));
    }

    @Test
    void withoutATokenLimitItRunsToTheEndOfTheContextOrAStop() {
        Map<String, Object> request = new HashMap<>(Map.of("messages", List.of(user("Tom found a shiny key")), "temperature", 0));
        Response response = chat(request);
        response.then().statusCode(200);
        int prompt = response.path("usage.prompt_tokens");
        int completion = response.path("usage.completion_tokens");
        String finish = response.path("choices[0].finish_reason");
        assertTrue(finish.equals("stop") ? completion < 512 - prompt : completion == 512 - prompt, finish + " after " + completion);
        // max_tokens, the deprecated name, still works.
        request.put("max_tokens", 3);
        chat(request).then().statusCode(200).body("usage.completion_tokens", equalTo(3));
    }

    static Stream<Arguments> badChats() {
        return Stream.of(
                Arguments.of("no messages", "{\"model\": \"" + MODEL + "\"}"),
                Arguments.of("empty messages", "{\"messages\": []}"),
                Arguments.of("messages not an array", "{\"messages\": \"hi\"}"),
                Arguments.of("message not an object", "{\"messages\": [\"hi\"]}"),
                Arguments.of("unknown role", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}"),
                Arguments.of("tool role", "{\"messages\": [{\"role\": \"tool\", \"content\": \"hi\"}]}"),
                Arguments.of("content a number", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}"),
                Arguments.of("image part", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {}}]}]}"),
                Arguments.of("max_completion_tokens 0", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": 0}"),
                Arguments.of("tools", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": []}"),
                Arguments.of("logprobs", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true}"),
                Arguments.of("json mode", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"response_format\": {\"type\": \"json_object\"}}"),
                Arguments.of("n 3", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 3}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badChats")
    void rejectedWith400(String description, String body) {
        chat(body).then().statusCode(400).body("error.type", equalTo("invalid_request_error"));
    }
}
