package dev.chorus.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compress.Calibration;
import dev.chorus.engine.compress.ModelComparison;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * chorus eval: quality of a (compressed) model against its dense reference on held-out sequences,
 * plus sparsity and memory. Held-out sequences are sampled from the reference with a seed distinct
 * from the calibration seed, or read from --data.
 */
final class EvalCommand {
    static final long HELD_OUT_SEED = 20_261_122;

    private EvalCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of("json"));
        Path modelPath = args.requiredPath("model");
        Optional<Path> referencePath = args.path("reference");
        int samples = args.integer("samples", 32, 1, 100_000);
        Optional<Path> data = args.path("data");
        Optional<Path> adapter = args.path("adapter");
        int length = args.integer("length", 128, 2, 1 << 16);
        long seed = args.longValue("seed", HELD_OUT_SEED);
        boolean json = args.flag("json");
        args.rejectUnknown();
        if (seed == CompressCommand.CALIBRATION_SEED) {
            throw new UsageException("--seed " + seed + " is the calibration seed; held-out samples must differ from calibration");
        }
        if (data.isPresent() && (adapter.isPresent() || isJsonl(data.get()))) {
            if (referencePath.isPresent()) {
                throw new UsageException("--reference compares models on generated text; with --adapter or JSONL data give only --data");
            }
            AdapterEval.run(modelPath, adapter, data.get(), json, out);
            return;
        }
        if (adapter.isPresent()) {
            throw new UsageException("--adapter needs --data FILE (JSONL of prompt/completion)");
        }
        if (referencePath.isEmpty() && data.isEmpty()) {
            throw new UsageException("give --reference DENSE (KL against it) and/or --data FILE (perplexity on text)");
        }
        if (data.isPresent() && !Files.isRegularFile(data.get())) {
            throw new UsageException("--data: no such file " + data.get());
        }
        ObjectNode report = new ObjectMapper().createObjectNode();
        try (LoadedModel model = LoadedModel.load(modelPath, Optional.empty(), "cpu")) {
            report.put("model", modelPath.toString());
            if (referencePath.isPresent()) {
                try (LoadedModel reference = LoadedModel.load(referencePath.get(), Optional.empty(), "cpu")) {
                    int len = Math.min(length, reference.config().maxPositions());
                    List<int[]> heldOut = data.isPresent()
                            ? Calibration.fromTextFile(data.get(), reference.requireTokenizer(), len)
                            : Calibration.selfGenerated(reference, samples, len, seed);
                    ModelComparison.Report r = ModelComparison.compare(model, reference, heldOut);
                    report.put("reference", referencePath.get().toString());
                    report.put("kl_mean", r.klMean());
                    report.put("top1_agreement", r.top1Agreement());
                    report.put("ppl_model", r.pplModel());
                    report.put("ppl_reference", r.pplReference());
                    report.put("samples", r.sequences());
                    report.put("tokens", r.tokens());
                }
            } else {
                List<int[]> text = Calibration.fromTextFile(data.get(), model.requireTokenizer(), Math.min(length, model.config().maxPositions()));
                report.put("ppl_model", ModelComparison.perplexity(model, text));
                report.put("samples", text.size());
            }
            addSparsityAndMemory(report, modelPath, model);
        }
        if (json) {
            out.println(report.toString());
        } else {
            report.fields().forEachRemaining(e -> out.printf(Locale.ROOT, "%-20s %s%n", e.getKey(), e.getValue()));
        }
    }

    /** Fine-tuning data (one JSON object per line) rather than plain text. */
    private static boolean isJsonl(Path file) {
        try (var lines = Files.lines(file)) {
            return lines.filter(l -> !l.isBlank()).findFirst().map(l -> l.trim().startsWith("{")).orElse(false);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            throw new UsageException("--data: cannot read " + file + ": " + e.getMessage());
        }
    }

    private static void addSparsityAndMemory(ObjectNode report, Path modelPath, LoadedModel model) {
        ModelConfig c = model.config();
        ObjectNode perLayer = report.putObject("sparsity_per_layer");
        long zeros = 0;
        long total = 0;
        Checkpoint checkpoint = Checkpoints.open(modelPath);
        CompressedParameters compressed = checkpoint instanceof Checkpoint.Compressed cc ? cc.read() : null;
        DenseParameters dense = compressed == null ? checkpoint.dense() : null;
        for (int i = 0; i < c.numLayers(); i++) {
            for (Projection p : Projection.values()) {
                long n = (long) p.outFeatures(c) * p.inFeatures(c);
                long z;
                if (compressed != null) { // the weights as computed: a folded adapter can move pruned entries off zero
                    z = 0;
                    for (float w : compressed.blocks().get(i).linear(p).dequantize()) {
                        z += w == 0f ? 1 : 0;
                    }
                } else {
                    z = 0;
                    for (float w : p.of(dense.layers().get(i))) {
                        z += w == 0f ? 1 : 0;
                    }
                }
                perLayer.put("layers." + i + "." + p.moduleName(), (double) z / n);
                zeros += z;
                total += n;
            }
        }
        report.put("sparsity_overall", (double) zeros / total);
        report.put("bytes_resident", model.model().weights().linearBytesResident());
        report.put("bytes_fp32", total * Float.BYTES);
    }
}
