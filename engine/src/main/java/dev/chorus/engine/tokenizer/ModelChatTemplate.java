package dev.chorus.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A model's own chat template (tokenizer_config.json "chat_template") with its bos/eos strings,
 * rendering chat messages to the prompt text the model was tuned on. Our tokenizers put BOS in
 * front of every prompt themselves, so a leading bos string from the template is dropped.
 */
public final class ModelChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChatTemplate template;
    private final String bosToken;
    private final String eosToken;

    ModelChatTemplate(ChatTemplate template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /**
     * The template of the checkpoint directory {@code dir}, if its tokenizer_config.json has one (a
     * string, or a list of named templates of which "default" is used). Throws ChatTemplateException
     * when the template is there but cannot be parsed: better at load than on every chat request.
     */
    public static Optional<ModelChatTemplate> load(Path dir) {
        Path file = dir.resolve("tokenizer_config.json");
        if (!Files.isDirectory(dir) || !Files.isRegularFile(file)) {
            return Optional.empty();
        }
        JsonNode config;
        try {
            config = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ChatTemplateException(file + ": not valid JSON: " + e.getMessage());
        }
        JsonNode node = config.path("chat_template");
        String text = null;
        if (node.isTextual()) {
            text = node.asText();
        } else if (node.isArray()) {
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText())) {
                    text = named.path("template").asText(null);
                }
            }
        }
        if (text == null) {
            return Optional.empty();
        }
        return Optional.of(new ModelChatTemplate(ChatTemplate.parse(text), token(config.path("bos_token")), token(config.path("eos_token"))));
    }

    /** bos_token / eos_token: a string or an AddedToken object with "content". */
    private static String token(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        return node.hasNonNull("content") ? node.get("content").asText() : null;
    }

    /**
     * The prompt text a model continues for chat {@code messages}: through its chat template when
     * it has one, else (base models) the contents one message per line, so a story model given
     * "Once upon a time" as the user message tells that story. Serving and training both use it, so
     * a model is trained on exactly the text it is later served.
     */
    public static String prompt(List<ChatTemplate.Message> messages, Optional<ModelChatTemplate> template) {
        if (template.isPresent()) {
            return template.get().render(messages);
        }
        return messages.stream().map(ChatTemplate.Message::content).collect(Collectors.joining("\n"));
    }

    /** The prompt for {@code messages}, ending where the assistant's reply starts. */
    public String render(List<ChatTemplate.Message> messages) {
        String text = template.render(messages, bosToken, eosToken, true);
        return bosToken != null && !bosToken.isEmpty() && text.startsWith(bosToken) ? text.substring(bosToken.length()) : text;
    }
}
