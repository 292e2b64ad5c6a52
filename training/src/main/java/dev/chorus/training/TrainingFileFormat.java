package dev.chorus.training;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.finetune.TrainingData;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Checks a fine-tuning file line by line, as OpenAI's JSONL formats: supervised
 * {@code {"messages": [...]}} (ending with the assistant's answer) or {@code {"prompt", "completion"}};
 * preference {@code {"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}}
 * (or {@code {"prompt", "chosen", "rejected"}}).
 * One file holds one kind. The engine's parsers judge each line, so what is accepted here trains.
 */
final class TrainingFileFormat {
    private TrainingFileFormat() {
    }

    /** What the file holds and how many examples; an {@link InvalidTrainingFileException} naming the first bad line otherwise. */
    record Summary(TrainingFile.Kind kind, int examples) {
    }

    static Summary check(byte[] content) {
        TrainingFile.Kind kind = null;
        int examples = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(content),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)))) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                TrainingFile.Kind lineKind = isPreference(line) ? TrainingFile.Kind.PREFERENCE : TrainingFile.Kind.SUPERVISED;
                if (kind != null && lineKind != kind) {
                    throw new InvalidTrainingFileException("line " + number + ": a " + name(lineKind) + " line in a file of " + name(kind)
                            + " lines (one kind per file)");
                }
                kind = lineKind;
                try {
                    if (lineKind == TrainingFile.Kind.PREFERENCE) {
                        TrainingData.parsePreference(line, "line " + number);
                    } else {
                        TrainingData.parse(line, "line " + number);
                    }
                } catch (EngineException | IllegalArgumentException e) {
                    throw new InvalidTrainingFileException(e.getMessage().startsWith("line ") ? e.getMessage() : "line " + number + ": "
                            + e.getMessage());
                }
                examples++;
            }
        } catch (CharacterCodingException e) {
            throw new InvalidTrainingFileException("the file is not UTF-8 text");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (examples == 0) {
            throw new InvalidTrainingFileException("the file holds no examples (JSONL: one JSON object per line)");
        }
        return new Summary(kind, examples);
    }

    /** A line with a preference pair's keys; anything else (also what is not JSON) is judged as a supervised line. */
    private static boolean isPreference(String line) {
        try {
            JsonObject o = new JsonObject(line);
            return o.containsKey("input") || o.containsKey("preferred_output") || o.containsKey("non_preferred_output")
                    || o.containsKey("chosen");
        } catch (DecodeException | ClassCastException e) {
            return false;
        }
    }

    private static String name(TrainingFile.Kind kind) {
        return kind == TrainingFile.Kind.PREFERENCE ? "preference" : "supervised";
    }
}
