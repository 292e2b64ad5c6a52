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
 * Tenant training data as JSONL: one object per line, {@code {"prompt", "completion"}} or
 * {@code {"messages": [...]}} (the last message, from the assistant, is the completion; the ones
 * before it, one per line, the prompt).
 */
public final class TrainingData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingData() {
    }

    public static List<TrainingExample> read(Path file) {
        List<TrainingExample> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    out.add(parse(line, file + ":" + number));
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

    static TrainingExample parse(String line, String where) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (IOException e) {
            throw new InvalidRequestException(where + ": not a JSON object");
        }
        if (node == null || !node.isObject()) {
            throw new InvalidRequestException(where + ": not a JSON object");
        }
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
