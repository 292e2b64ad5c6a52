package dev.chorus.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chorus.engine.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** make-data → compress → finetune → eval --adapter through the CLI, on TinyStories-656K compressed to 50 % + INT4 g128. */
class FinetuneCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void adaptsACompressedBaseToADomain(@TempDir Path dir) throws Exception {
        Path train = dir.resolve("space.jsonl");
        Path heldOut = dir.resolve("space-held-out.jsonl");
        assertEquals(0, ChorusCliTest.chorus("make-data", "--domain", "space", "--n", "200", "--seed", "3", "--out", train.toString()).code());
        assertEquals(0, ChorusCliTest.chorus("make-data", "--domain", "space", "--n", "40", "--seed", "4", "--out", heldOut.toString()).code());
        assertTrue(Files.readString(heldOut).lines().noneMatch(l -> {
            try {
                return Files.readString(train).contains(l);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }), "held-out stories are not copies of training ones");

        Path base = dir.resolve("ts-w50-int4");
        ChorusCliTest.Run c = ChorusCliTest.chorus("compress", "--model", TestModels.tinyStories656k().toString(), "--out", base.toString(),
                "--sparsity", "0.5", "--bits", "4", "--group-size", "128");
        assertEquals(0, c.code(), c.err());

        Path adapter = dir.resolve("space-lora");
        ChorusCliTest.Run f = ChorusCliTest.chorus("finetune", "--model", base.toString(), "--data", train.toString(), "--eval",
                heldOut.toString(), "--rank", "16", "--steps", "100", "--lr", "3e-3", "--batch", "8", "--eval-every", "50", "--out",
                adapter.toString(), "--json");
        assertEquals(0, f.code(), f.err());
        assertTrue(f.err().contains("step 100/100"), "progress on stderr: " + f.err());
        assertTrue(f.err().contains("held-out loss"), "held-out loss on stderr: " + f.err());
        JsonNode report = JSON.readTree(f.out());
        double before = report.get("eval_ppl_before").asDouble();
        double after = report.get("eval_ppl_after").asDouble();
        assertTrue(after <= 0.7 * before, "held-out perplexity " + before + " -> " + after);
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_config.json")));

        ChorusCliTest.Run e = ChorusCliTest.chorus("eval", "--model", base.toString(), "--adapter", adapter.toString(), "--data",
                heldOut.toString(), "--json");
        assertEquals(0, e.code(), e.err());
        assertEquals(after, JSON.readTree(e.out()).get("ppl").asDouble(), after * 1e-4, "eval --adapter agrees with the trainer");
        ChorusCliTest.Run e0 = ChorusCliTest.chorus("eval", "--model", base.toString(), "--data", heldOut.toString(), "--json");
        assertEquals(before, JSON.readTree(e0.out()).get("ppl").asDouble(), before * 1e-4, "and without the adapter, the base");

        // QA-SparsePEFT, merged into a new INT4 model that keeps the base's grid and sparsity.
        Path sqft = dir.resolve("space-qa-sparse-peft");
        ChorusCliTest.Run q = ChorusCliTest.chorus("finetune", "--model", base.toString(), "--data", train.toString(), "--eval",
                heldOut.toString(), "--type", "qa-sparse-peft", "--rank", "16", "--steps", "60", "--lr", "3e-3", "--out", sqft.toString(),
                "--json");
        assertEquals(0, q.code(), q.err());
        double sqftAfter = JSON.readTree(q.out()).get("eval_ppl_after").asDouble();
        Path merged = dir.resolve("merged");
        ChorusCliTest.Run m = ChorusCliTest.chorus("merge", "--model", base.toString(), "--adapter", sqft.toString(), "--out", merged.toString());
        assertEquals(0, m.code(), m.err());
        assertTrue(m.err().contains("INT4 codes on the base's grid, base sparsity 0.5000"), m.err());
        ChorusCliTest.Run em = ChorusCliTest.chorus("eval", "--model", merged.toString(), "--data", heldOut.toString(), "--json");
        assertEquals(sqftAfter, JSON.readTree(em.out()).get("ppl").asDouble(), sqftAfter * 1e-4, "the merged model is the trained one");
        assertTrue(sqftAfter <= 0.7 * before, "qa-sparse-peft held-out perplexity " + before + " -> " + sqftAfter);

        assertFails(2, "served unmerged on a compressed base", ChorusCliTest.chorus("merge", "--model", base.toString(), "--adapter",
                adapter.toString(), "--out", dir.resolve("x").toString()));
        assertFails(1, "made for base", ChorusCliTest.chorus("merge", "--model", TestModels.tinyStories656k().toString(),
                "--adapter", sqft.toString(), "--out", dir.resolve("y").toString()));
    }

    @Test
    void badFinetuneInputIsOneLineAndNonZero(@TempDir Path dir) throws Exception {
        String model = TestModels.tinyStories656k().toString();
        Path data = dir.resolve("d.jsonl");
        Files.writeString(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json\n");
        assertFails(1, "d.jsonl:2: not a JSON object", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(), "--out",
                dir.resolve("o").toString()));
        assertFails(2, "unknown adapter type 'dora'", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(), "--type",
                "dora", "--out", dir.resolve("o").toString()));
        assertFails(2, "qa-lora needs --group-size", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(), "--type",
                "qa-lora", "--out", dir.resolve("o").toString()));
        assertFails(2, "--targets", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(), "--targets", "q,x",
                "--out", dir.resolve("o").toString()));
        assertFails(2, "unknown --domain", ChorusCliTest.chorus("make-data", "--domain", "knitting"));
        assertFails(2, "--beta applies to --method dpo", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(),
                "--beta", "0.2", "--out", dir.resolve("o").toString()));
        assertFails(2, "--method must be supervised or dpo", ChorusCliTest.chorus("finetune", "--model", model, "--data", data.toString(),
                "--method", "ppo", "--out", dir.resolve("o").toString()));
        Files.writeString(data, "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n"
                + "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}, \"preferred_output\": []}\n");
        assertFails(1, "d.jsonl:2: a preference needs input.messages and exactly one message", ChorusCliTest.chorus("finetune", "--model",
                model, "--data", data.toString(), "--method", "dpo", "--out", dir.resolve("o").toString()));
    }

    /** --method dpo on preference pairs in both formats: the held-out margin of the preferred answers grows. */
    @Test
    void dpoOnPreferencePairs(@TempDir Path dir) throws Exception {
        StringBuilder train = new StringBuilder();
        String[] animals = {"cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck", "cow", "pig", "fox", "owl", "bee", "ant", "hen", "goat"};
        for (int i = 0; i < animals.length; i++) {
            String a = animals[i];
            String chosen = " Arr, the " + a + " sailed the sea.";
            String rejected = " The " + a + " slept all day.";
            train.append(i % 2 == 0
                    ? "{\"prompt\": \"Tell me about the " + a + ".\", \"chosen\": \"" + chosen + "\", \"rejected\": \"" + rejected + "\"}\n"
                    : "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about the " + a + ".\"}]}, "
                            + "\"preferred_output\": [{\"role\": \"assistant\", \"content\": \"" + chosen + "\"}], "
                            + "\"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"" + rejected + "\"}]}\n");
        }
        Path data = dir.resolve("prefs.jsonl");
        Files.writeString(data, train);
        ChorusCliTest.Run f = ChorusCliTest.chorus("finetune", "--model", TestModels.tinyStories656k().toString(), "--data", data.toString(),
                "--method", "dpo", "--beta", "0.1", "--eval-split", "0.25", "--steps", "30", "--batch", "4", "--out",
                dir.resolve("dpo").toString(), "--json");
        assertEquals(0, f.code(), f.err());
        JsonNode report = JSON.readTree(f.out());
        assertEquals("dpo", report.get("method").asText());
        assertEquals(Math.log(2), report.get("eval_dpo_loss_before").asDouble(), 1e-4, "a fresh adapter is its own reference");
        assertTrue(report.get("eval_margin_after").asDouble() > report.get("eval_margin_before").asDouble() + 5, report.toString());
        assertTrue(Files.isRegularFile(dir.resolve("dpo").resolve("adapter_model.safetensors")));
    }

    private static void assertFails(int code, String message, ChorusCliTest.Run r) {
        assertEquals(code, r.code(), "exit code; stderr: " + r.err());
        assertTrue(r.err().contains(message), "stderr should mention '" + message + "': " + r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
    }
}
