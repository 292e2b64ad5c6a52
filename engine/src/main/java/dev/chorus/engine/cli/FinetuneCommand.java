package dev.chorus.engine.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.finetune.AdapterTrainer;
import dev.chorus.engine.finetune.Optimization;
import dev.chorus.engine.finetune.TrainingData;
import dev.chorus.engine.finetune.PreferenceExample;
import dev.chorus.engine.finetune.TrainingBase;
import dev.chorus.engine.finetune.TrainingExample;
import dev.chorus.engine.finetune.TrainingRun;
import dev.chorus.engine.llama.Projection;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * chorus finetune: trains an adapter on a frozen (dense or compressed) base and writes it as PEFT
 * files; sparse-peft and qa-sparse-peft adapters then go through chorus merge.
 */
final class FinetuneCommand {
    static final String USAGE = """
            finetune --model BASE --data FILE --out DIR [--type lora|qa-lora|qa-hira|scale|sparse-peft|qa-sparse-peft] [--rank R] [--alpha A]
                     [--targets all|qkvo|q,k,v,o,gate,up,down] [--steps N] [--lr LR] [--batch B] [--accumulation K]
                     [--warmup W] [--linear] [--weight-decay WD] [--max-grad-norm G] [--eval FILE | --eval-split F]
                     [--eval-every K] [--checkpoint-every K] [--init ADAPTER_DIR] [--group-size G] [--seed S] [--json]
                     [--method supervised|dpo] [--beta B]
            --method dpo trains on preference pairs (JSONL of {"prompt", "chosen", "rejected"} or OpenAI's preference format)
            with strength --beta (default 0.1); the reference is the adapter it starts from (--init, or a fresh one).""";

    /** Where held-out examples come from: a file of their own, or a seeded fraction of the training data. */
    sealed interface HeldOut {
        record File(Path file) implements HeldOut {
        }

        record Split(float fraction) implements HeldOut {
            public Split {
                OptionChecks.within("eval-split", fraction, 0f, 0.9f, false);
            }
        }
    }

    /**
     * The adapter to train (type, rank, alpha, targets, group size: replaced by {@code init}'s when
     * continuing a version), the data, and how to optimise. {@code groupSize} empty: the compressed
     * base's, for the grouped types. {@code dpoBeta} present: train on preference pairs with DPO.
     */
    record Options(Path model, Path data, Path out, AdapterType type, int rank, float alpha, Set<Projection> targets,
            Optional<Integer> groupSize, int steps, long seed, Optimization optimization, HeldOut heldOut, Optional<Path> init, boolean json,
            Optional<Float> dpoBeta) {
        Options {
            OptionChecks.between("rank", rank, 1, 1024);
            OptionChecks.within("alpha", alpha, 0f, 1e6f, true);
            OptionChecks.between("steps", steps, 1, 10_000_000);
            groupSize.ifPresent(g -> OptionChecks.between("group-size", g, 1, 1 << 16));
            OptionChecks.absent(out);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("json", "linear"));
            Path model = args.requiredPath("model");
            Path data = args.requiredPath("data");
            Path out = args.requiredPath("out");
            AdapterType type = parseType(args.string("type").orElse("lora"));
            int rank = args.integer("rank").orElse(8);
            float alpha = args.number("alpha").orElse(2f * rank);
            Set<Projection> targets = CliArgs.targets(args.string("targets").orElse("all"));
            int steps = OptionChecks.between("steps", args.integer("steps").orElse(100), 1, 10_000_000);
            Optimization optimization = optimization(args, steps);
            HeldOut heldOut = args.path("eval").<HeldOut>map(HeldOut.File::new)
                    .orElseGet(() -> new HeldOut.Split(args.number("eval-split").orElse(0.1f)));
            String method = args.string("method").orElse("supervised");
            Optional<Float> beta = args.number("beta");
            if (!method.equals("supervised") && !method.equals("dpo")) {
                throw new UsageException("--method must be supervised or dpo, got '" + method + "'");
            }
            if (method.equals("supervised") && beta.isPresent()) {
                throw new UsageException("--beta applies to --method dpo");
            }
            Optional<Float> dpoBeta = method.equals("dpo") ? Optional.of(OptionChecks.within("beta", beta.orElse(0.1f), 0f, 100f, true))
                    : Optional.empty();
            Options o = new Options(model, data, out, type, rank, alpha, targets, args.integer("group-size").filter(g -> g != 0), steps,
                    args.longValue("seed").orElse(1L), optimization, heldOut, args.path("init"), args.flag("json"), dpoBeta);
            args.string("eval-split"); // read (and ignored) when --eval names a file
            args.rejectUnknown();
            return o;
        }

        /** AdamW's settings, each checked against the range the command line accepts. */
        private static Optimization optimization(CliArgs args, int steps) {
            float lr = OptionChecks.within("lr", args.number("lr").orElse(2e-3f), 0f, 10f, true);
            int batch = OptionChecks.between("batch", args.integer("batch").orElse(8), 1, 4096);
            int accumulation = OptionChecks.between("accumulation", args.integer("accumulation").orElse(1), 1, 4096);
            int warmup = OptionChecks.between("warmup", args.integer("warmup").orElse(Math.min(20, steps / 10)), 0, steps);
            float weightDecay = OptionChecks.within("weight-decay", args.number("weight-decay").orElse(0.01f), -0f, 10f, false);
            float maxGradNorm = OptionChecks.within("max-grad-norm", args.number("max-grad-norm").orElse(1f), -0f, 1e6f, false);
            int evalEvery = OptionChecks.between("eval-every", args.integer("eval-every").orElse(50), 0, 10_000_000);
            int checkpointEvery = OptionChecks.between("checkpoint-every", args.integer("checkpoint-every").orElse(0), 0, 10_000_000);
            Optimization.Decay decay = args.flag("linear") ? Optimization.Decay.LINEAR : Optimization.Decay.COSINE;
            return new Optimization(lr, decay, warmup, weightDecay, maxGradNorm, batch, accumulation, evalEvery, checkpointEvery);
        }
    }

    private record Examples<T>(List<T> train, List<T> eval) {
    }

    private FinetuneCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        Options o = Options.parse(argv);
        // The kind first, so a usage error (qa-lora without a group size on a dense base) comes before any file is read.
        Optional<AdapterKind> requested = o.init().isPresent() ? Optional.empty()
                : Optional.of(AdapterKind.of(o.type(), o.rank(), o.alpha(), () -> o.groupSize().orElseGet(() -> baseGroupSize(o.model(), o.type()))));
        Examples<TrainingExample> examples = o.dpoBeta().isPresent() ? null : examples(o, TrainingData::read);
        Examples<PreferenceExample> pairs = o.dpoBeta().isPresent() ? examples(o, TrainingData::readPreferences) : null;
        try (TrainingBase base = TrainingBase.open(o.model());
                NDManager manager = Engine.getInstance().newBaseManager()) {
            Adapter start = o.init().map(dir -> base.readAdapter(dir, 1024)).orElse(null);
            TrainingRun run = start == null ? new TrainingRun(requested.orElseThrow(), o.targets(), o.steps(), o.seed())
                    // continue the given version: its kind (type, rank, α, group size) and targets
                    : new TrainingRun(start.kind(), start.targets(), o.steps(), o.seed());
            try (AdapterTrainer trainer = base.trainer(run, o.optimization(), start, manager)) {
                TrainingProgress progress = new TrainingProgress(err, o.out());
                if (pairs == null) {
                    AdapterTrainer.Result r = trainer.train(examples.train(), examples.eval(), progress);
                    AdapterFiles.write(r.adapter(), o.out());
                    print(report(r, examples, o).put("eval_ppl_before", Math.exp(r.initialEvalLoss()))
                            .put("eval_ppl_after", Math.exp(r.finalEvalLoss())), o, out);
                } else {
                    AdapterTrainer.Result r = trainer.trainPreferences(pairs.train(), pairs.eval(), o.dpoBeta().get(), progress);
                    AdapterFiles.write(r.adapter(), o.out());
                    print(report(r, pairs, o).put("eval_dpo_loss_before", r.initialEvalLoss()).put("eval_dpo_loss_after", r.finalEvalLoss())
                            .put("eval_margin_before", base.preferenceMargin(start, pairs.eval(), manager))
                            .put("eval_margin_after", base.preferenceMargin(r.adapter(), pairs.eval(), manager)), o, out);
                }
            }
        }
    }

    /** The training data, and held-out examples from their own file or split off after a seeded shuffle. */
    private static <T> Examples<T> examples(Options o, Function<Path, List<T>> read) {
        List<T> train = new ArrayList<>(read.apply(o.data()));
        if (o.heldOut() instanceof HeldOut.File file) {
            return new Examples<>(train, read.apply(file.file()));
        }
        Collections.shuffle(train, new Random(o.seed()));
        int held = Math.round(train.size() * ((HeldOut.Split) o.heldOut()).fraction());
        return new Examples<>(new ArrayList<>(train.subList(0, train.size() - held)),
                new ArrayList<>(train.subList(train.size() - held, train.size())));
    }

    /** The report's common fields; the caller adds its method's evaluation, then prints it. */
    private static ObjectNode report(AdapterTrainer.Result r, Examples<?> examples, Options o) {
        return new ObjectMapper().createObjectNode()
                .put("method", o.dpoBeta().isPresent() ? "dpo" : "supervised")
                .put("type", r.adapter().type().label())
                .put("rank", r.adapter().rank())
                .put("trainable_parameters", r.trainableParameters())
                .put("train_examples", examples.train().size())
                .put("eval_examples", examples.eval().size())
                .put("steps", r.steps())
                .put("seconds", r.seconds())
                .put("steps_per_s", r.stepsPerSecond())
                .put("first_train_loss", r.firstTrainLoss())
                .put("last_train_loss", r.lastTrainLoss())
                .put("out", o.out().toString());
    }

    private static void print(ObjectNode report, Options o, PrintStream out) {
        if (o.json()) {
            out.println(report);
        } else {
            report.fields().forEachRemaining(e -> out.printf(Locale.ROOT, "%-22s %s%n", e.getKey(), e.getValue()));
        }
    }

    static AdapterType parseType(String text) {
        try {
            return AdapterType.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
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
