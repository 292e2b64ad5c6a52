package dev.chorus.training;

import dev.chorus.engine.finetune.PreferenceExample;
import dev.chorus.engine.finetune.TrainingData;
import dev.chorus.engine.finetune.TrainingExample;
import dev.chorus.engine.tokenizer.ChatTemplate;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * An uploaded file's lines as the engine's examples, chat messages rendered through the model's
 * template exactly as serving renders a chat request, so what trains is what is later asked.
 * {@code {"prompt", "completion"}} and {@code {"prompt", "chosen", "rejected"}} lines are raw text.
 * The file was checked line by line when it was uploaded ({@link TrainingFileFormat}); the engine's
 * parser checks each line again here.
 */
final class FileExamples {
    private final Function<List<ChatTemplate.Message>, String> template;

    /** {@code template}: the prompt text of chat messages (the base's {@code prompt}). */
    FileExamples(Function<List<ChatTemplate.Message>, String> template) {
        this.template = template;
    }

    List<TrainingExample> supervised(byte[] content) {
        return lines(content, (line, where) -> {
            TrainingData.parse(line, where);
            JsonObject o = new JsonObject(line);
            if (!o.containsKey("messages")) {
                return new TrainingExample(o.getString("prompt"), o.getString("completion"));
            }
            List<ChatTemplate.Message> messages = messages(o.getJsonArray("messages"));
            return new TrainingExample(template.apply(messages.subList(0, messages.size() - 1)), messages.get(messages.size() - 1).content());
        });
    }

    List<PreferenceExample> preferences(byte[] content) {
        return lines(content, (line, where) -> {
            PreferenceExample raw = TrainingData.parsePreference(line, where);
            JsonObject o = new JsonObject(line);
            if (!o.containsKey("input")) {
                return raw;
            }
            String prompt = template.apply(messages(o.getJsonObject("input").getJsonArray("messages")));
            return new PreferenceExample(prompt, answer(o.getJsonArray("preferred_output")), answer(o.getJsonArray("non_preferred_output")));
        });
    }

    private static String answer(JsonArray output) {
        return output.getJsonObject(0).getString("content");
    }

    private static List<ChatTemplate.Message> messages(JsonArray array) {
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonObject m = array.getJsonObject(i);
            out.add(new ChatTemplate.Message(m.getString("role"), m.getString("content")));
        }
        return out;
    }

    private static <T> List<T> lines(byte[] content, java.util.function.BiFunction<String, String, T> parse) {
        List<T> out = new ArrayList<>();
        String[] lines = new String(content, StandardCharsets.UTF_8).split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                out.add(parse.apply(lines[i], "line " + (i + 1)));
            }
        }
        return out;
    }
}
