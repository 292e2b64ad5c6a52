package dev.chorus.engine.cli;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;

import dev.chorus.engine.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against the llama2.c reference outputs in ../shared/models/README.md. */
class ChorusCliTest {
    static final String BOS_REFERENCE = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.
            Lily's mom said, "Lily, let's go to the park." Lily was sad and didn't know what to do. She said, "I want to play with your ball, but I can't find it."
            Lily was sad and didn't know what to do. She said, "I'm sorry, Lily. I didn't know what to do."
            Lily didn't want to help her mom, so she said, "I'm sorry, mom. I didn't know what to do." Her mom said, "Don't worry, Lily. We can help you.
            """;
    static final String TIM_REFERENCE = """
            . He liked to play with his toys. He liked to play with his toys and run around the room. He saw a big ball and wanted to play with it.
            Tim wanted to play with the ball. He wanted to play with the ball. He picked up the ball and put it in the ball. He put it on his ball and put it in the ball. He put it on his ball and put it in the ball
            """;

    record Run(int code, String out, String err) {
    }

    static Run chorus(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Chorus.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void generateFromBosIsAPrefixOfTheReference() {
        Run r = chorus("generate", "--model", TestModels.stories260k().toString(), "--temperature", "0", "--max-tokens", "200");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.length() > 400, "200 tokens of text expected, got " + r.out.length() + " chars");
        assertPrefix(BOS_REFERENCE, r.out);
    }

    @Test
    void generateWithPromptIsAPrefixOfTheReference() {
        // llama2.c's reference ran 128 positions in total, prompt included.
        Run r = chorus("generate", "--model", TestModels.stories260k().toString(), "--temperature", "0", "--prompt", "Tim had a red ball",
                "--max-tokens", "100");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.length() > 250, r.out);
        assertPrefix(TIM_REFERENCE, r.out);
    }

    @Test
    void generateOnTheHfModelMatchesItsReferenceText() {
        Run r = chorus("generate", "--model", TestModels.tinyStories656k().toString(), "--temperature", "0", "--prompt",
                "Tom found a shiny key", "--max-tokens", "30");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith(". He wanted to play with it. He tried to reach it, but it was too heavy for himself."), r.out);
    }

    @Test
    void badInputGivesOneLineAndNonZeroExit(@TempDir Path dir) throws Exception {
        String model = TestModels.stories260k().toString();
        assertFailure(chorus("generate", "--model", dir.resolve("missing.bin").toString()), 1, "no such file");
        assertFailure(chorus("generate", "--model", model, "--max-tokens", "abc"), 2, "--max-tokens must be an integer");
        assertFailure(chorus("generate", "--model", model, "--max-tokens", "0"), 2, "--max-tokens must be between 1");
        assertFailure(chorus("generate", "--model", model, "--max-tokens", "100000"), 2, "exceeds");
        assertFailure(chorus("generate", "--model", model, "--temperature", "-1"), 2, "--temperature must be in");
        assertFailure(chorus("generate", "--model", model, "--top-p", "1.5"), 2, "--top-p must be in");
        assertFailure(chorus("generate", "--model", model, "--bogus", "1"), 2, "unknown option --bogus");
        assertFailure(chorus("generate"), 2, "missing required option --model");
        Path bad = dir.resolve("bad.bin");
        Files.write(bad, new byte[] {1, 2, 3});
        assertFailure(chorus("generate", "--model", bad.toString()), 1, "too short");
        Path notModel = dir.resolve("notes.txt");
        Files.writeString(notModel, "hello");
        assertFailure(chorus("generate", "--model", notModel.toString()), 1, "not a model");
        assertFailure(chorus("synth", "--shape", "stories9M", "--out", dir.resolve("x.bin").toString()), 2, "unknown shape");
        assertFailure(chorus("bench", "decode", "--model", model, "--batch", "0"), 2, "--batch must be between 1");
        assertFailure(chorus("frobnicate"), 2, "unknown command");
    }

    @Test
    void synthThenBenchDecodePrintsJson(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("s15m.bin");
        Run synth = chorus("synth", "--shape", "stories15M", "--out", file.toString(), "--seed", "3");
        assertEquals(0, synth.code, synth.err);
        assertEquals(60_816_028L, file.toFile().length(), "header + stories15M weights + freq tables");
        Run bench = chorus("bench", "decode", "--model", file.toString(), "--batch", "2", "--tokens", "4", "--trials", "1", "--json");
        assertEquals(0, bench.code, bench.err);
        JsonNode r = new ObjectMapper().readTree(bench.out);
        assertEquals(2, r.get("batch").asInt());
        assertEquals(1, r.get("trials").asInt());
        double msPerStep = r.get("ms_per_step").asDouble();
        double floor = r.get("matmul_floor_ms").asDouble();
        assertTrue(floor > 0 && msPerStep > 0, bench.out);
        // One trial: the overhead is exactly that trial's step over its floor (up to the printed digits).
        assertEquals(msPerStep / floor, r.get("overhead").asDouble(), 1e-3 * msPerStep / floor + 1e-3, bench.out);
        assertEquals(2 * 1000 / msPerStep, r.get("tokens_per_s").asDouble(), 0.1 + 1e-3 * r.get("tokens_per_s").asDouble(), bench.out);
        assertEquals(r.get("overhead").asDouble(), r.get("overhead_min").asDouble(), 0.0, "one trial: min = median = max");
    }

    @Test
    void makeAdapterWritesAPeftAdapterBoundToItsBase(@TempDir Path dir) {
        Path model = TestModels.tinyStories656k();
        Path out = dir.resolve("pirate");
        Run made = chorus("make-adapter", "--model", model.toString(), "--type", "qa-lora", "--rank", "4", "--targets", "qkvo",
                "--seed", "9", "--out", out.toString());
        assertEquals(0, made.code, made.err);
        var config = dev.chorus.engine.checkpoint.HfCheckpoint.readConfig(model);
        var adapter = dev.chorus.engine.adapter.AdapterFiles.read(out, config, 16, dev.chorus.engine.checkpoint.Fingerprint.of(model));
        assertEquals(dev.chorus.engine.adapter.AdapterType.QA_LORA, adapter.type());
        assertEquals(4, adapter.rank());
        assertEquals(4 * config.numLayers(), adapter.modules().size(), "q, k, v, o of every layer");
        assertTrue(dev.chorus.engine.adapter.AdapterFormatException.class.isInstance(org.junit.jupiter.api.Assertions.assertThrows(
                RuntimeException.class, () -> dev.chorus.engine.adapter.AdapterFiles.read(out, config, 16, "sha256:" + "0".repeat(64)))),
                "bound to its base: another fingerprint is refused");

        assertFailure(chorus("make-adapter", "--model", model.toString(), "--out", out.toString()), 2, "already exists");
        assertFailure(chorus("make-adapter", "--model", model.toString(), "--type", "dora", "--out", dir.resolve("x").toString()), 2,
                "unknown adapter type 'dora'");
    }

    private static void assertPrefix(String reference, String out) {
        int n = Math.min(reference.length(), out.length());
        for (int i = 0; i < n; i++) {
            if (reference.charAt(i) != out.charAt(i)) {
                throw new AssertionError("output differs from the reference at char " + i + ": ..."
                        + out.substring(Math.max(0, i - 20), Math.min(out.length(), i + 20)) + "... vs ..."
                        + reference.substring(Math.max(0, i - 20), Math.min(reference.length(), i + 20)) + "...");
            }
        }
        assertTrue(out.length() <= reference.length(), "output is longer than the reference");
    }

    private static void assertFailure(Run r, int code, String message) {
        assertEquals(code, r.code, "exit code; stderr: " + r.err);
        assertEquals("", r.out, "nothing on stdout");
        assertTrue(r.err.contains(message), "stderr should mention '" + message + "': " + r.err);
        assertTrue(r.err.lines().count() <= 8, "a short message: " + r.err);
        assertFalse(r.err.contains("\tat "), "no stack trace: " + r.err);
    }
}
