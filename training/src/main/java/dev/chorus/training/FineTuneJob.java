package dev.chorus.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.finetune.AdapterTrainer;
import dev.chorus.engine.finetune.Optimization;
import dev.chorus.engine.finetune.PreferenceExample;
import dev.chorus.engine.finetune.TrainingBase;
import dev.chorus.engine.finetune.TrainingRun;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.tokenizer.ChatTemplate;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.TrainingExample;
import dev.chorus.kafka.TrainingJobEvent;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One fine-tuning job, start to end: the adapter's active version from the registry (or a new
 * adapter from the configured defaults) is trained further on the new examples plus a replay
 * sample of earlier ones, judged against the active version on the held-out set, uploaded with
 * its provenance, and promoted if the gate lets it. Every state goes to {@link Jobs}.
 */
final class FineTuneJob {
    /** What a job needs, shared by all jobs of a runner. */
    record Context(TrainingBase base, RegistryClient registry, Datasets datasets, Jobs jobs, Gate gate, TrainingConfig config,
            Path workRoot, Clock clock) {
    }

    private final Context c;
    private TrainingJobEvent job;

    FineTuneJob(Context context, TrainingJobEvent running) {
        this.c = context;
        this.job = running;
    }

    /** Runs the job; returns its final state for the runner to record. */
    TrainingJobEvent run() {
        String tenant = job.tenant();
        String name = job.adapter();
        Optional<RegistryClient.ActiveVersion> active = c.registry().active(tenant, name);
        Path work = c.workRoot().resolve(job.jobId());
        Adapter parent = active.map(v -> readVersion(v, work.resolve("parent"))).orElse(null);

        List<TrainingExample> examples = c.datasets().of(tenant, name).map(Dataset::examples).orElse(List.of());
        long seed = job.jobId().hashCode();
        ExampleSelection selection = ExampleSelection.of(examples, c.jobs().trainedThrough(tenant, name).orElse(null),
                c.config().job().replayRatio(), seed);
        List<dev.chorus.engine.finetune.TrainingExample> training = selection.training().stream()
                .filter(x -> !x.chosen().isEmpty()).map(this::asEngineExample).toList();
        if (selection.fresh().isEmpty() || training.isEmpty()) {
            throw new JobFailure("no_training_examples", "no new supervised examples since the last version (erased since the job was queued?)");
        }
        int steps = steps(training.size(), c.config().job());
        TrainingRun run = parent == null ? new TrainingRun(newKind(), newTargets(), steps, seed)
                : new TrainingRun(parent.kind(), parent.targets(), steps, seed); // continue the version as it is
        List<PreferenceExample> pairs = preferencePairs(selection.fresh());
        int dpoSteps = pairs.size() >= c.config().job().dpoMinPairs() ? Math.max(1, steps(pairs.size(), c.config().job()) / 2) : 0;
        job = c.jobs().publish(job.continuing(active.map(RegistryClient.ActiveVersion::version).orElse(null))
                .running(job.runner(), 0, steps + dpoSteps, null, c.clock().instant()));

        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            AdapterTrainer.Result result;
            try (AdapterTrainer trainer = c.base().trainer(run, optimization(steps), parent, manager)) {
                result = trainer.train(training, List.of(), new ProgressReporter(0, steps + dpoSteps));
            }
            // Corrections are also preference pairs: sharpen the new version against the answers users rejected.
            AdapterTrainer.Result dpo = null;
            if (dpoSteps > 0) {
                TrainingRun preferenceRun = new TrainingRun(result.adapter().kind(), result.adapter().targets(), dpoSteps, seed);
                try (AdapterTrainer trainer = c.base().trainer(preferenceRun, optimization(dpoSteps), result.adapter(), manager)) {
                    dpo = trainer.trainPreferences(pairs, List.of(), c.config().job().dpoBeta(), new ProgressReporter(steps, steps + dpoSteps));
                }
            }
            Adapter trained = dpo == null ? result.adapter() : dpo.adapter();
            // Judged on the held-out set as it is now: every example that arrived while training counts too.
            List<TrainingExample> now = c.datasets().of(tenant, name).map(Dataset::examples).orElse(List.of());
            List<dev.chorus.engine.finetune.TrainingExample> heldOut = ExampleSelection.heldOut(now).stream()
                    .filter(x -> !x.chosen().isEmpty()).map(this::asEngineExample).toList();
            double before = heldOut.isEmpty() ? Double.NaN : c.base().loss(parent, heldOut, manager);
            double after = heldOut.isEmpty() ? Double.NaN : c.base().loss(trained, heldOut, manager);
            boolean passes = c.gate().passes(before, after, heldOut.size());
            String against = active.map(v -> "version " + v.version()).orElse("the base model");
            String reason = heldOut.isEmpty() ? "no held-out examples yet: nothing is promoted blind"
                    : String.format(Locale.ROOT, "held-out loss %.4f %s %.4f of %s (tolerance %s, %d examples)", after,
                            passes ? "is not worse than" : "is worse than", before, against, c.gate().tolerance(), heldOut.size());
            Map<String, Double> metrics = metrics(result, selection, heldOut.size(), before, after);
            if (dpo != null) {
                metrics.put("dpo_pairs", (double) pairs.size());
                metrics.put("dpo_steps", (double) dpo.steps());
                metrics.put("dpo_last_loss", dpo.lastTrainLoss());
                List<PreferenceExample> heldOutPairs = preferencePairs(ExampleSelection.heldOutPairs(now));
                if (!heldOutPairs.isEmpty()) {
                    metrics.put("parent_held_out_margin", c.base().preferenceMargin(parent, heldOutPairs, manager));
                    metrics.put("held_out_margin", c.base().preferenceMargin(trained, heldOutPairs, manager));
                }
                metrics.values().removeIf(v -> !Double.isFinite(v));
            }
            if (!passes && parent == null) { // a first version is active as soon as it exists: do not upload it
                throw new JobFailure("gate_rejected", "the first version did not pass the gate, so it was not published: " + reason);
            }
            byte[] zip = AdapterArchive.zip(trained, work.resolve("trained"));
            var provenance = new AdapterManifest.Provenance(active.map(RegistryClient.ActiveVersion::version).orElse(null), job.jobId(),
                    metrics, new AdapterManifest.GateVerdict(passes, reason));
            int version = c.registry().upload(tenant, name, zip, provenance);
            if (passes && parent != null) {
                c.registry().promote(tenant, name, version);
            }
            return job.succeeded(version, passes, metrics, null, selection.newest(), c.clock().instant());
        }
    }

    private Adapter readVersion(RegistryClient.ActiveVersion v, Path dir) {
        AdapterArchive.unzip(c.registry().blob(v.sha256()), dir, 1L << 30);
        return c.base().readAdapter(dir, c.config().job().maxRank());
    }

    /** A prompt as serving rendered it (chat messages through the model's template), continued by the chosen answer. */
    private dev.chorus.engine.finetune.TrainingExample asEngineExample(TrainingExample x) {
        String prompt = x.prompt() != null ? x.prompt()
                : c.base().prompt(x.messages().stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList());
        return new dev.chorus.engine.finetune.TrainingExample(prompt, x.chosen());
    }

    /** Corrected dislikes as preference pairs: the correction preferred over the completion the user got. */
    private List<PreferenceExample> preferencePairs(List<TrainingExample> examples) {
        return examples.stream().filter(x -> x.kind() == TrainingExample.Kind.PREFERENCE)
                .filter(x -> !x.chosen().isEmpty() && !x.rejected().isEmpty() && !x.chosen().equals(x.rejected()))
                .map(x -> new PreferenceExample(asEngineExample(x).prompt(), x.chosen(), x.rejected())).toList();
    }

    /** Enough steps for the configured epochs over {@code examples}, within the configured bounds. */
    static int steps(int examples, TrainingConfig.Job job) {
        int epochSteps = (int) Math.ceil(job.epochs() * (double) examples / job.batchSize());
        return Math.max(job.minSteps(), Math.min(job.maxSteps(), epochSteps));
    }

    private Optimization optimization(int steps) {
        TrainingConfig.Job j = c.config().job();
        return new Optimization(j.learningRate(), Optimization.Decay.COSINE, Math.min(20, steps / 10), 0.01f, 1f, j.batchSize(), 1, 0, 0);
    }

    private AdapterKind newKind() {
        TrainingConfig.NewAdapter n = c.config().newAdapter();
        AdapterType type = AdapterType.parse(n.type());
        return AdapterKind.of(type, n.rank(), n.alpha().orElse(2f * n.rank()), () -> {
            throw new JobFailure("invalid_configuration", "chorus.training.new-adapter.type " + n.type() + " needs a group size; use lora");
        });
    }

    private Set<Projection> newTargets() {
        return Projection.parseSet(c.config().newAdapter().targets());
    }

    private static Map<String, Double> metrics(AdapterTrainer.Result r, ExampleSelection s, int heldOut, double before, double after) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("train_examples", (double) s.fresh().size());
        m.put("replay_examples", (double) s.replay().size());
        m.put("held_out_examples", (double) heldOut);
        m.put("steps", (double) r.steps());
        m.put("train_seconds", r.seconds());
        m.put("first_train_loss", r.firstTrainLoss());
        m.put("last_train_loss", r.lastTrainLoss());
        if (Double.isFinite(before) && Double.isFinite(after)) {
            m.put("parent_held_out_loss", before);
            m.put("held_out_loss", after);
        }
        m.values().removeIf(v -> !Double.isFinite(v));
        return m;
    }

    /** Records the step and loss on the jobs topic, at most once per progress interval (and at the last step). */
    private final class ProgressReporter implements AdapterTrainer.Listener {
        private final int before;
        private final int total;
        private Instant last = Instant.MIN;

        /** For a phase that starts after {@code before} steps of the job's {@code total}. */
        ProgressReporter(int before, int total) {
            this.before = before;
            this.total = total;
        }

        @Override
        public void onStep(AdapterTrainer.Progress p) {
            Instant now = c.clock().instant();
            if (p.step() == p.steps() || !now.isBefore(last.plus(c.config().job().progressInterval()))) {
                last = now;
                try {
                    job = c.jobs().publish(job.running(job.runner(), before + p.step(), total, p.trainLoss(), now));
                } catch (JobsUnavailableException e) {
                    // progress is best effort: the final state is what must be recorded
                }
            }
        }
    }
}
