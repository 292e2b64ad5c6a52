package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.api;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A model whose tokenizer_config.json carries a chat template: chat prompts are rendered with it. */
@QuarkusTest
@TestProfile(ChatTemplateServingTest.TemplatedModel.class)
class ChatTemplateServingTest {
    static final String TEMPLATE = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate user/assistant') }}{% endif %}"
            + "{{ '<' + message['role'] + '> ' + message['content'] | trim + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}";

    /** TinyStories-656K copied with a chat template added to its tokenizer_config.json. */
    public static class TemplatedModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path source = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
                Path copy = Files.createTempDirectory("chorus-templated-model-");
                try (Stream<Path> files = Files.list(source)) {
                    for (Path f : files.toList()) {
                        Files.copy(f, copy.resolve(f.getFileName()));
                    }
                }
                Path config = copy.resolve("tokenizer_config.json");
                String json = Files.readString(config);
                String escaped = TEMPLATE.replace("\\", "\\\\").replace("\"", "\\\"");
                Files.writeString(config, json.replaceFirst("\\{", "{\"chat_template\": \"" + java.util.regex.Matcher.quoteReplacement(escaped) + "\","));
                copy.toFile().deleteOnExit();
                return Map.of("chorus.model.path", copy.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    @Test
    void chatUsesTheTemplateAndItsRules() {
        Map<String, Object> chat = new HashMap<>(Map.of("messages", List.of(
                Map.of("role", "user", "content", "Tom found a key "),
                Map.of("role", "assistant", "content", "It was shiny."),
                Map.of("role", "user", "content", "What did he do?")), "max_tokens", 16, "temperature", 0));
        String chatText = api().contentType(ContentType.JSON).body(chat).post("/v1/chat/completions").then().statusCode(200)
                .extract().path("choices[0].message.content");
        // The same prompt rendered by hand (the leading bos is the tokenizer's own BOS token).
        String rendered = "<user> Tom found a key\n<assistant> It was shiny.\n<user> What did he do?\n<assistant>";
        assertEquals(CompletionsTest.text(ServingTestSupport.greedy(rendered, 16)), chatText);

        chat.put("messages", List.of(Map.of("role", "assistant", "content", "Hi")));
        api().contentType(ContentType.JSON).body(chat).post("/v1/chat/completions").then().statusCode(400)
                .body("error.message", containsString("roles must alternate"));
    }
}
