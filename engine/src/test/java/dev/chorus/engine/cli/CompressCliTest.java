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

/** compress → generate/bench/eval on the compressed checkpoint, through the CLI, on stories260K (llama2.c format). */
class CompressCliTest {
    @Test
    void compressedCheckpointWorksLikeAnyModel(@TempDir Path dir) throws Exception {
        String model = TestModels.stories260k().toString();
        Path out = dir.resolve("s260k-2of4-int8");
        ChorusCliTest.Run c = ChorusCliTest.chorus("compress", "--model", model, "--out", out.toString(), "--sparsity", "2:4", "--bits", "8",
                "--group-size", "32", "--calibration", "self:8", "--calibration-length", "64");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.err().contains("block 5/5"), "progress on stderr: " + c.err());
        assertTrue(c.err().contains("wrote"), "the written checkpoint named on stderr: " + c.err());
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("chorus_compression.json").toFile());
        assertEquals("2:4", manifest.get("pattern").asText());
        assertEquals(8, manifest.get("bits").asInt());
        assertTrue(manifest.get("source_fingerprint").asText().matches("sha256:[0-9a-f]{64}"));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.bin")), "tokenizer travels with the checkpoint");

        ChorusCliTest.Run g = ChorusCliTest.chorus("generate", "--model", out.toString(), "--temperature", "0", "--max-tokens", "20");
        assertEquals(0, g.code(), g.err());
        assertTrue(g.out().length() > 20, g.out());
        ChorusCliTest.Run b = ChorusCliTest.chorus("bench", "decode", "--model", out.toString(), "--batch", "2", "--tokens", "4", "--json");
        assertEquals(0, b.code(), b.err());
        // Zipf rows land on non-consecutive slots: the gather path, reused across decode steps.
        ChorusCliTest.Run m = ChorusCliTest.chorus("bench", "multi-lora", "--model", out.toString(), "--adapters", "4", "--rank", "4",
                "--batch", "6", "--tokens", "3", "--pattern", "zipf", "--json");
        assertEquals(0, m.code(), m.err());
        assertTrue(m.out().contains("\"batched_over_sequential\""), m.out());
        assertTrue(m.out().matches("(?s).*\"matmul_floor_ms\":[0-9.]+,.*\"batched_over_floor\":[0-9.]+,.*"), m.out());

        ChorusCliTest.Run e = ChorusCliTest.chorus("eval", "--model", out.toString(), "--reference", model, "--samples", "4", "--length", "48",
                "--json");
        assertEquals(0, e.code(), e.err());
        JsonNode report = new ObjectMapper().readTree(e.out());
        for (String field : new String[] {"kl_mean", "top1_agreement", "ppl_model", "ppl_reference", "sparsity_overall", "sparsity_per_layer",
                "bytes_resident", "bytes_fp32"}) {
            assertTrue(report.has(field), "eval JSON lacks " + field + ": " + e.out());
        }
        assertEquals(0.5, report.get("sparsity_overall").asDouble(), 1e-12);
        assertEquals(0.5, report.get("sparsity_per_layer").get("layers.4.down_proj").asDouble(), 1e-12);
        assertTrue(report.get("kl_mean").asDouble() > 0, "KL of a compressed model is positive: " + e.out());
        assertTrue(report.get("top1_agreement").asDouble() > 0.3, "top-1 agreement: " + e.out());
        assertTrue(report.get("bytes_resident").asLong() < report.get("bytes_fp32").asLong() / 3, e.out());
    }

    @Test
    void badCompressInputIsOneLineAndNonZero(@TempDir Path dir) {
        String model = TestModels.stories260k().toString();
        String out = dir.resolve("x").toString();
        assertFails(2, "--sparsity", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "lots"));
        assertFails(2, "--bits must be 4 or 8", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--bits", "3"));
        assertFails(2, "--bits must be 4 or 8", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--bits", "4",
                "--group-size", "100"));
        assertFails(2, "either integer quantization", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5",
                "--bits", "4", "--bcq", "3"));
        assertFails(2, "--gptq needs", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--gptq"));
        assertFails(2, "--method must be", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--method", "x"));
        assertFails(2, "self:N", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--calibration", "self:x"));
        assertFails(2, "no such file", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "0.5", "--calibration",
                dir.resolve("none.txt").toString()));
        // stories260K's down_proj has 172 inputs: not a multiple of 8, found while compressing (exit 1, not a usage error).
        assertFails(1, "multiple of 8", ChorusCliTest.chorus("compress", "--model", model, "--out", out, "--sparsity", "4:8",
                "--calibration", "self:1", "--calibration-length", "8"));
        assertFails(2, "calibration seed", ChorusCliTest.chorus("eval", "--model", model, "--reference", model, "--seed", "1234"));
        assertFails(2, "--reference", ChorusCliTest.chorus("eval", "--model", model));
    }

    private static void assertFails(int code, String message, ChorusCliTest.Run r) {
        assertEquals(code, r.code(), r.err());
        assertTrue(r.err().contains(message), "stderr should mention '" + message + "': " + r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
    }
}
