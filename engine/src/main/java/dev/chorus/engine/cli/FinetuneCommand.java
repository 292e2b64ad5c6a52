package dev.chorus.engine.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.finetune.AdapterTrainer;
import dev.chorus.engine.finetune.TrainingData;
import dev.chorus.engine.finetune.TrainingExample;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * chorus finetune: trains an adapter on a frozen (dense or compressed) base and writes it as PEFT
 * files; sparse-peft and qa-sparse-peft adapters then go through chorus merge.
 */
final class FinetuneCommand {
    private FinetuneCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of("json", "linear"));
        Path modelPath = args.requiredPath("model");
        Path dataPath = args.requiredPath("data");
        Path outDir = args.requiredPath("out");
        AdapterType type = parseType(args.string("type").orElse("lora"));
        int rank = args.integer("rank", 8, 1, 1024);
        float alpha = args.number("alpha", 2f * rank, 0f, 1e6f, true);
        Set<Projection> targets = targets(args.string("targets").orElse("all"));
        int steps = args.integer("steps", 100, 1, 10_000_000);
        float lr = args.number("lr", 2e-3f, 0f, 10f, true);
        int batch = args.integer("batch", 8, 1, 4096);
        int accumulation = args.integer("accumulation", 1, 1, 4096);
        int warmup = args.integer("warmup", Math.min(20, steps / 10), 0, steps);
        float weightDecay = args.number("weight-decay", 0.01f, -0f, 10f, false);
        float maxGradNorm = args.number("max-grad-norm", 1f, -0f, 1e6f, false);
        int evalEvery = args.integer("eval-every", 50, 0, 10_000_000);
        int checkpointEvery = args.integer("checkpoint-every", 0, 0, 10_000_000);
        float evalFraction = args.number("eval-split", 0.1f, -0f, 0.9f, false);
        Optional<Path> evalPath = args.path("eval");
        Optional<Path> init = args.path("init");
        int groupSizeArg = args.integer("group-size", 0, 0, 1 << 16);
        long seed = args.longValue("seed", 1);
        boolean linear = args.flag("linear");
        boolean json = args.flag("json");
        args.rejectUnknown();
        if (Files.exists(outDir)) {
            throw new UsageException(outDir + " already exists; choose a new --out directory");
        }
        AdapterKind kind = AdapterKind.of(type, rank, alpha, () -> groupSizeArg > 0 ? groupSizeArg : baseGroupSize(modelPath, type));
        List<TrainingExample> all = TrainingData.read(dataPath);
        List<TrainingExample> train = new ArrayList<>(all);
        List<TrainingExample> eval;
        if (evalPath.isPresent()) {
            eval = TrainingData.read(evalPath.get());
        } else {
            Collections.shuffle(train, new Random(seed));
            int held = Math.round(train.size() * evalFraction);
            eval = new ArrayList<>(train.subList(train.size() - held, train.size()));
            train = new ArrayList<>(train.subList(0, train.size() - held));
        }
        DenseParameters base = Checkpoints.open(modelPath).dense();
        String fingerprint = Fingerprint.of(modelPath);
        Adapter start = init.map(dir -> AdapterFiles.read(dir, base.config(), 1024, fingerprint)).orElse(null);
        if (start != null) { // continue the given version: its kind (type, rank, α, group size) and targets
            kind = start.kind();
            targets = start.targets();
        }
        AdapterTrainer.Settings settings = new AdapterTrainer.Settings(kind, targets, steps, lr, batch, accumulation, weightDecay, warmup,
                !linear, maxGradNorm, evalEvery, checkpointEvery, seed);
        Supplier<FrozenLinears> frozen = () -> { // read only by the kinds that train against the base's mask and grid
            try {
                return FrozenLinears.read(modelPath);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        };
        try (LoadedModel model = LoadedModel.load(modelPath, Optional.empty(), "cpu");
                NDManager manager = Engine.getInstance().newBaseManager();
                AdapterTrainer trainer = new AdapterTrainer(base, frozen, model.requireTokenizer(), base.config().eosId(), settings, start,
                        fingerprint, manager, DataType.FLOAT32)) {
            TrainingProgress progress = new TrainingProgress(err, outDir);
            AdapterTrainer.Result r = trainer.train(train, eval, progress);
            AdapterFiles.write(r.adapter(), outDir);
            ObjectNode report = new ObjectMapper().createObjectNode()
                    .put("type", r.adapter().type().label())
                    .put("rank", r.adapter().rank())
                    .put("trainable_parameters", r.trainableParameters())
                    .put("train_examples", train.size())
                    .put("eval_examples", eval.size())
                    .put("steps", r.steps())
                    .put("seconds", r.seconds())
                    .put("steps_per_s", r.stepsPerSecond())
                    .put("first_train_loss", r.firstTrainLoss())
                    .put("last_train_loss", r.lastTrainLoss())
                    .put("eval_ppl_before", Math.exp(r.initialEvalLoss()))
                    .put("eval_ppl_after", Math.exp(r.finalEvalLoss()))
                    .put("out", outDir.toString());
            if (json) {
                out.println(report);
            } else {
                report.fields().forEachRemaining(e -> out.printf(Locale.ROOT, "%-22s %s%n", e.getKey(), e.getValue()));
            }
        }
    }

    static AdapterType parseType(String text) {
        try {
            return AdapterType.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** all, qkvo, or a comma list of q,k,v,o,gate,up,down (or their PEFT names). */
    static Set<Projection> targets(String text) {
        Optional<Set<Projection>> named = CliArgs.namedTargets(text);
        if (named.isPresent()) {
            return named.get();
        }
        Set<Projection> out = EnumSet.noneOf(Projection.class);
        for (String name : text.split(",")) {
            try {
                out.add(Projection.fromModuleName(name.trim().endsWith("_proj") ? name.trim() : name.trim() + "_proj"));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--targets: " + e.getMessage());
            }
        }
        return out;
    }

    private static int baseGroupSize(Path model, AdapterType type) {
        if (!(Checkpoints.open(model) instanceof Checkpoint.Compressed compressed)) {
            throw new UsageException(type.label() + " needs --group-size on a dense base (a compressed base brings its own)");
        }
        Integer g = compressed.manifest().groupSize();
        if (g == null) {
            throw new UsageException("the base is not group-quantized; give --group-size");
        }
        return g;
    }

    /** Loss on a progress bar; eval losses and checkpoints on lines of their own. */
    private static final class TrainingProgress implements AdapterTrainer.Listener {
        private static final int WIDTH = 30;
        private final PrintStream err;
        private final Path outDir;
        private final long start = System.nanoTime();

        TrainingProgress(PrintStream err, Path outDir) {
            this.err = err;
            this.outDir = outDir;
        }

        @Override
        public void onStep(AdapterTrainer.Progress p) {
            int filled = p.step() * WIDTH / p.steps();
            err.printf(Locale.ROOT, "\r[%s%s] step %d/%d loss %.4f lr %.2e %5.1fs", "#".repeat(filled), "-".repeat(WIDTH - filled),
                    p.step(), p.steps(), p.trainLoss(), p.learningRate(), (System.nanoTime() - start) / 1e9);
            if (p.step() == p.steps()) {
                err.println();
            }
            err.flush();
        }

        @Override
        public void onEval(int step, double evalLoss) {
            err.printf(Locale.ROOT, "%nstep %d: held-out loss %.4f, perplexity %.3f%n", step, evalLoss, Math.exp(evalLoss));
        }

        @Override
        public void onCheckpoint(int step, Adapter adapter) {
            Path dir = outDir.resolveSibling(outDir.getFileName() + "-checkpoint-" + step);
            AdapterFiles.write(adapter, dir);
            err.printf(Locale.ROOT, "%ncheckpoint %s%n", dir);
        }
    }
}
