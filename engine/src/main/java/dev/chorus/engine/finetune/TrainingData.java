package dev.chorus.engine.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.InvalidRequestException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Tenant training data as JSONL: one object per line. Supervised: {@code {"prompt", "completion"}}
 * or {@code {"messages": [...]}} (the last message, from the assistant, is the completion; the
 * ones before it, one per line, the prompt). Preference pairs: {@code {"prompt", "chosen",
 * "rejected"}} or OpenAI's {@code {"input": {"messages": [...]}, "preferred_output": [assistant
 * message], "non_preferred_output": [assistant message]}}.
 */
public final class TrainingData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingData() {
    }

    public static List<TrainingExample> read(Path file) {
        return read(file, TrainingData::parse);
    }

    public static List<PreferenceExample> readPreferences(Path file) {
        return read(file, TrainingData::parsePreference);
    }

    private static <T> List<T> read(Path file, java.util.function.BiFunction<String, String, T> parser) {
        List<T> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    out.add(parser.apply(line, file + ":" + number));
                }
            }
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read training data " + file + ": " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new InvalidRequestException(file + ": no examples");
        }
        return out;
    }

    public static PreferenceExample parsePreference(String line, String where) {
        JsonNode node = object(line, where);
        try {
            if (node.has("input")) {
                TrainingExample preferred = fromMessages(withAnswer(node.path("input").path("messages"), node.get("preferred_output"), where), where);
                TrainingExample other = fromMessages(withAnswer(node.path("input").path("messages"), node.get("non_preferred_output"), where), where);
                return new PreferenceExample(preferred.prompt(), preferred.completion(), other.completion());
            }
            if (node.path("prompt").isTextual() && node.path("chosen").isTextual() && node.path("rejected").isTextual()) {
                return new PreferenceExample(node.get("prompt").asText(), node.get("chosen").asText(), node.get("rejected").asText());
            }
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(where + ": " + e.getMessage());
        }
        throw new InvalidRequestException(where + ": expected {\"prompt\", \"chosen\", \"rejected\"} or {\"input\": {\"messages\": [...]}, "
                + "\"preferred_output\": [...], \"non_preferred_output\": [...]}");
    }

    /** The input messages followed by the one assistant message of {@code output}. */
    private static JsonNode withAnswer(JsonNode messages, JsonNode output, String where) {
        if (!messages.isArray() || messages.isEmpty() || output == null || !output.isArray() || output.size() != 1) {
            throw new InvalidRequestException(where + ": a preference needs input.messages and exactly one message in preferred_output "
                    + "and in non_preferred_output");
        }
        return JSON.createArrayNode().addAll((com.fasterxml.jackson.databind.node.ArrayNode) messages).add(output.get(0));
    }

    private static JsonNode object(String line, String where) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (IOException e) {
            throw new InvalidRequestException(where + ": not a JSON object");
        }
        if (node == null || !node.isObject()) {
            throw new InvalidRequestException(where + ": not a JSON object");
        }
        return node;
    }

    public static TrainingExample parse(String line, String where) {
        JsonNode node = object(line, where);
        if (node.has("messages")) {
            return fromMessages(node.get("messages"), where);
        }
        if (!node.path("prompt").isTextual() || !node.path("completion").isTextual() || node.get("completion").asText().isEmpty()) {
            throw new InvalidRequestException(where + ": expected {\"prompt\": string, \"completion\": non-empty string} or {\"messages\": [...]}");
        }
        return new TrainingExample(node.get("prompt").asText(), node.get("completion").asText());
    }

    private static TrainingExample fromMessages(JsonNode messages, String where) {
        if (!messages.isArray() || messages.size() < 2) {
            throw new InvalidRequestException(where + ": messages must be an array of at least two messages");
        }
        List<String> before = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new InvalidRequestException(where + ": messages[" + i + "] needs a role and a string content");
            }
            if (i < messages.size() - 1) {
                before.add(m.get("content").asText());
            } else if (!"assistant".equals(m.get("role").asText()) || m.get("content").asText().isEmpty()) {
                throw new InvalidRequestException(where + ": the last message must be the assistant's non-empty answer");
            }
        }
        return new TrainingExample(String.join("\n", before) + "\n", messages.get(messages.size() - 1).get("content").asText());
    }

    public static void write(List<TrainingExample> examples, Writer out) {
        try {
            for (TrainingExample e : examples) {
                ObjectNode node = JSON.createObjectNode().put("prompt", e.prompt()).put("completion", e.completion());
                out.write(JSON.writeValueAsString(node));
                out.write('\n');
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
