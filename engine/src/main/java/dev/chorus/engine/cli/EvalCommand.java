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
    static final String USAGE = """
            eval     --model M [--reference DENSE] [--samples N] [--data FILE] [--adapter DIR] [--length L] [--seed S] [--json]""";
    static final long HELD_OUT_SEED = 20_261_122;

    /** What is measured. */
    sealed interface Evaluation {
        /** KL(reference‖model), top-1 agreement and perplexities on {@code text}, or on {@code samples} sequences sampled from the reference. */
        record Comparison(Path reference, Optional<Path> text, int samples, long seed) implements Evaluation {
            public Comparison {
                OptionChecks.between("samples", samples, 1, 100_000);
                if (seed == CompressCommand.CALIBRATION_SEED) {
                    throw new UsageException("--seed " + seed + " is the calibration seed; held-out samples must differ from calibration");
                }
                text.ifPresent(EvalCommand::requireFile);
            }
        }

        /** The model's perplexity on the lines of a text file. */
        record Perplexity(Path text) implements Evaluation {
            public Perplexity {
                requireFile(text);
            }
        }

        /** Loss and perplexity on the completions of fine-tuning data, with or without an adapter. */
        record CompletionLoss(Path data, Optional<Path> adapter) implements Evaluation {
        }
    }

    record Options(Path model, Evaluation evaluation, int length, boolean json) {
        Options {
            OptionChecks.between("length", length, 2, 1 << 16);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("json"));
            Path model = args.requiredPath("model");
            Optional<Path> reference = args.path("reference");
            int samples = args.integer("samples").orElse(32);
            Optional<Path> data = args.path("data");
            Optional<Path> adapter = args.path("adapter");
            int length = args.integer("length").orElse(128);
            long seed = args.longValue("seed").orElse(HELD_OUT_SEED);
            boolean json = args.flag("json");
            args.rejectUnknown();
            return new Options(model, evaluation(reference, data, adapter, samples, seed), length, json);
        }

        private static Evaluation evaluation(Optional<Path> reference, Optional<Path> data, Optional<Path> adapter, int samples, long seed) {
            if (data.isPresent() && (adapter.isPresent() || isJsonl(data.get()))) {
                if (reference.isPresent()) {
                    throw new UsageException("--reference compares models on generated text; with --adapter or JSONL data give only --data");
                }
                return new Evaluation.CompletionLoss(data.get(), adapter);
            }
            if (adapter.isPresent()) {
                throw new UsageException("--adapter needs --data FILE (JSONL of prompt/completion)");
            }
            if (reference.isPresent()) {
                return new Evaluation.Comparison(reference.get(), data, samples, seed);
            }
            if (data.isEmpty()) {
                throw new UsageException("give --reference DENSE (KL against it) and/or --data FILE (perplexity on text)");
            }
            return new Evaluation.Perplexity(data.get());
        }
    }

    private EvalCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        Options o = Options.parse(argv);
        if (o.evaluation() instanceof Evaluation.CompletionLoss loss) {
            AdapterEval.run(o.model(), loss.adapter(), loss.data(), o.json(), out);
            return;
        }
        ObjectNode report = new ObjectMapper().createObjectNode();
        try (LoadedModel model = LoadedModel.load(o.model(), Optional.empty(), "cpu")) {
            report.put("model", o.model().toString());
            if (o.evaluation() instanceof Evaluation.Comparison comparison) {
                compare(model, comparison, o.length(), report);
            } else {
                Path text = ((Evaluation.Perplexity) o.evaluation()).text();
                List<int[]> sequences = Calibration.fromTextFile(text, model.requireTokenizer(), Math.min(o.length(), model.config().maxPositions()));
                report.put("ppl_model", ModelComparison.perplexity(model, sequences));
                report.put("samples", sequences.size());
            }
            addSparsityAndMemory(report, o.model(), model);
        }
        if (o.json()) {
            out.println(report.toString());
        } else {
            report.fields().forEachRemaining(e -> out.printf(Locale.ROOT, "%-20s %s%n", e.getKey(), e.getValue()));
        }
    }

    private static void compare(LoadedModel model, Evaluation.Comparison c, int length, ObjectNode report) {
        try (LoadedModel reference = LoadedModel.load(c.reference(), Optional.empty(), "cpu")) {
            int len = Math.min(length, reference.config().maxPositions());
            List<int[]> heldOut = c.text().isPresent()
                    ? Calibration.fromTextFile(c.text().get(), reference.requireTokenizer(), len)
                    : Calibration.selfGenerated(reference, c.samples(), len, c.seed());
            ModelComparison.Report r = ModelComparison.compare(model, reference, heldOut);
            report.put("reference", c.reference().toString());
            report.put("kl_mean", r.klMean());
            report.put("top1_agreement", r.top1Agreement());
            report.put("ppl_model", r.pplModel());
            report.put("ppl_reference", r.pplReference());
            report.put("samples", r.sequences());
            report.put("tokens", r.tokens());
        }
    }

    private static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UsageException("--data: no such file " + file);
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
