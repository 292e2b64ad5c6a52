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
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.TrainingJobEvent;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One fine-tuning job, start to end, as its {@link JobPlan} says: train (supervised, then DPO when
 * the plan has preference pairs), judge against the target adapter's active version (or the base)
 * on the held-out data, upload with provenance, promote if the gate lets it. Every state goes to
 * {@link Jobs}, with a metrics entry in the job's log every few steps (train loss, and the
 * validation loss at each evaluation). A cancel seen at a step stops training; past the point of
 * no return ({@link Jobs#committing}) the job publishes.
 */
final class FineTuneJob {
    /** What a job needs, shared by all jobs of a runner. */
    record Context(TrainingBase base, RegistryClient registry, Datasets datasets, FileStore files, Jobs jobs, Gate gate,
            TrainingConfig config, Path workRoot, Clock clock) {
    }

    /** About this many metrics entries per job, whatever its length: enough points for a loss curve. */
    static final int METRICS_POINTS = 100;
    /** Validation-loss evaluations per training phase. */
    static final int EVALUATIONS = 10;

    private final Context c;
    private TrainingJobEvent job;

    FineTuneJob(Context context, TrainingJobEvent running) {
        this.c = context;
        this.job = running;
    }

    /** Runs the job; returns its final state for the runner to record. */
    TrainingJobEvent run() {
        Path work = c.workRoot().resolve(job.jobId());
        JobPlan plan = new JobPlans(c, work).plan(job);
        Adapter parent = plan.parent();
        int total = plan.totalSteps();
        job = c.jobs().publish(job.continuing(plan.parentVersion()).running(job.runner(), 0, total, null, c.clock().instant()));
        JobPlan.HeldOut early = plan.heldOut().get();

        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            AdapterTrainer.Result result = null;
            Adapter trained = parent;
            if (plan.supervisedSteps() > 0) {
                TrainingRun run = trained == null ? new TrainingRun(newKind(), newTargets(), plan.supervisedSteps(), plan.seed())
                        : new TrainingRun(trained.kind(), trained.targets(), plan.supervisedSteps(), plan.seed()); // continue it as it is
                try (AdapterTrainer trainer = c.base().trainer(run, optimization(plan, plan.supervisedSteps()), trained, manager)) {
                    result = trainer.train(plan.supervised(), early.examples(), new ProgressReporter(plan, early, 0, plan.supervisedSteps()));
                }
                trained = result.adapter();
            }
            AdapterTrainer.Result dpo = null;
            if (plan.dpoSteps() > 0) { // the reference is where this phase starts: the parent, or the supervised result
                TrainingRun run = trained == null ? new TrainingRun(newKind(), newTargets(), plan.dpoSteps(), plan.seed())
                        : new TrainingRun(trained.kind(), trained.targets(), plan.dpoSteps(), plan.seed());
                try (AdapterTrainer trainer = c.base().trainer(run, optimization(plan, plan.dpoSteps()), trained, manager)) {
                    dpo = trainer.trainPreferences(plan.pairs(), early.pairs(), plan.beta(),
                            new ProgressReporter(plan, early, plan.supervisedSteps(), plan.dpoSteps()));
                }
                trained = dpo.adapter();
            }
            return judgeAndPublish(plan, trained, result, dpo, work, manager);
        }
    }

    private TrainingJobEvent judgeAndPublish(JobPlan plan, Adapter trained, AdapterTrainer.Result sft, AdapterTrainer.Result dpo, Path work,
            NDManager manager) {
        JobPlan.HeldOut heldOut = plan.heldOut().get();
        boolean byMargin = plan.judgeByMargin();
        double before = Double.NaN;
        double after = Double.NaN;
        if (!heldOut.isEmpty(byMargin)) { // a margin must grow: compared as its negative, like a loss
            before = byMargin ? -c.base().preferenceMargin(plan.active(), heldOut.pairs(), manager)
                    : c.base().loss(plan.active(), heldOut.examples(), manager);
            after = byMargin ? -c.base().preferenceMargin(trained, heldOut.pairs(), manager) : c.base().loss(trained, heldOut.examples(), manager);
        }
        int n = byMargin ? heldOut.pairs().size() : heldOut.examples().size();
        boolean passes = c.gate().passes(before, after, n);
        String against = plan.hasActive() ? "the active version" : "the base model";
        String measure = byMargin ? "held-out preference margin" : "held-out loss";
        String reason = n == 0 ? "no held-out examples yet: nothing is promoted blind"
                : String.format(Locale.ROOT, "%s %.4f %s %.4f of %s (tolerance %s, %d examples)", measure, byMargin ? -after : after,
                        passes ? "is not worse than" : "is worse than", byMargin ? -before : before, against, c.gate().tolerance(), n);
        Map<String, Double> metrics = metrics(plan, sft, dpo, heldOut, trained, manager);
        if (!plan.hasActive() && !passes) { // a first version is active as soon as it exists
            if (plan.skipGate() || n == 0 && job.fromApi()) {
                reason = (plan.skipGate() ? "the request skipped the gate for a first version: " : "published unjudged: ") + reason;
                passes = true;
            } else {
                throw new JobFailure("gate_rejected", "the first version did not pass the gate, so it was not published: " + reason);
            }
        }
        c.jobs().committing(job.jobId()); // from here the version is published, whatever a cancel says
        try {
            byte[] zip = AdapterArchive.zip(trained, work.resolve("trained"));
            var provenance = new AdapterManifest.Provenance(plan.parentVersion(), job.jobId(), metrics, new AdapterManifest.GateVerdict(passes, reason));
            int version = c.registry().upload(job.tenant(), job.adapter(), zip, provenance);
            if (passes && plan.hasActive()) {
                c.registry().promote(job.tenant(), job.adapter(), version);
            }
            job = job.logged(dev.chorus.kafka.JobLogEvent.Level.INFO, "Gate: " + reason, c.clock().instant());
            return job.succeeded(version, passes, metrics, null, plan.trainedThrough(), c.clock().instant());
        } finally {
            c.jobs().committed(job.jobId());
        }
    }

    private Map<String, Double> metrics(JobPlan plan, AdapterTrainer.Result sft, AdapterTrainer.Result dpo, JobPlan.HeldOut heldOut,
            Adapter trained, NDManager manager) {
        Map<String, Double> m = new LinkedHashMap<>(plan.metrics());
        m.put("held_out_examples", (double) heldOut.examples().size());
        m.put("steps", (double) plan.totalSteps());
        AdapterTrainer.Result first = sft != null ? sft : dpo;
        AdapterTrainer.Result last = dpo != null ? dpo : sft;
        m.put("train_seconds", (sft == null ? 0 : sft.seconds()) + (dpo == null ? 0 : dpo.seconds()));
        m.put("first_train_loss", first.firstTrainLoss());
        m.put("last_train_loss", last.lastTrainLoss());
        if (!heldOut.examples().isEmpty()) {
            m.put("parent_held_out_loss", c.base().loss(plan.active(), heldOut.examples(), manager));
            m.put("held_out_loss", c.base().loss(trained, heldOut.examples(), manager));
        }
        if (dpo != null) {
            m.put("dpo_pairs", (double) plan.pairs().size());
            m.put("dpo_steps", (double) dpo.steps());
            m.put("dpo_last_loss", dpo.lastTrainLoss());
        }
        if (!heldOut.pairs().isEmpty()) {
            m.put("parent_held_out_margin", c.base().preferenceMargin(plan.active(), heldOut.pairs(), manager));
            m.put("held_out_margin", c.base().preferenceMargin(trained, heldOut.pairs(), manager));
        }
        m.values().removeIf(v -> !Double.isFinite(v));
        return m;
    }

    /** Enough steps for the configured epochs over {@code examples}, within the configured bounds. */
    static int steps(int examples, TrainingConfig.Job job) {
        int epochSteps = (int) Math.ceil(job.epochs() * (double) examples / job.batchSize());
        return Math.max(job.minSteps(), Math.min(job.maxSteps(), epochSteps));
    }

    private static Optimization optimization(JobPlan plan, int steps) {
        int evalEvery = Math.max(1, (int) Math.ceil(steps / (double) EVALUATIONS));
        return new Optimization(plan.learningRate(), Optimization.Decay.COSINE, Math.min(20, steps / 10), 0.01f, 1f, plan.batchSize(), 1,
                evalEvery, 0);
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

    /**
     * Stops training at the first step after a cancel; logs a metrics entry every few steps (with
     * the validation loss when the step evaluates) and records the state at most once per progress
     * interval (and at the phase's last step).
     */
    private final class ProgressReporter implements AdapterTrainer.Listener {
        private final int before;
        private final int total;
        private final int every;
        private final int evalEvery;
        private final boolean evaluates;
        private Instant last = Instant.MIN;
        private Map<String, Double> pending; // this step's metrics, waiting for its validation loss

        /** For a phase of {@code steps} that starts after {@code before} steps of the job. */
        ProgressReporter(JobPlan plan, JobPlan.HeldOut heldOut, int before, int steps) {
            this.before = before;
            this.total = plan.totalSteps();
            this.every = Math.max(1, (int) Math.ceil(total / (double) METRICS_POINTS));
            this.evalEvery = optimization(plan, steps).evalEvery();
            this.evaluates = before < plan.supervisedSteps() ? !heldOut.examples().isEmpty() : !heldOut.pairs().isEmpty();
        }

        @Override
        public void onStep(AdapterTrainer.Progress p) {
            int step = before + p.step();
            c.jobs().ended(job.jobId()).ifPresent(ended -> {
                throw stopped(ended, step);
            });
            if (step % every == 0 || p.step() == p.steps() || p.step() == 1) {
                pending = new LinkedHashMap<>(Map.of("step", (double) step, "total_steps", (double) total, "train_loss", p.trainLoss(),
                        "learning_rate", p.learningRate()));
                if (!(evaluates && p.step() % evalEvery == 0)) {
                    flush(step);
                }
            }
            Instant now = c.clock().instant();
            if (p.step() == p.steps() || !now.isBefore(last.plus(c.config().job().progressInterval()))) {
                last = now;
                try {
                    job = c.jobs().publish(job.running(job.runner(), step, total, p.trainLoss(), now));
                } catch (JobsUnavailableException e) {
                    // progress is best effort: the final state is what must be recorded
                } catch (JobEndedException e) { // cancelled since the check above
                    throw stopped(e.job(), step);
                }
            }
        }

        private JobEndedException stopped(TrainingJobEvent ended, int step) {
            return new JobEndedException(ended, String.format(Locale.ROOT, "%s was %s at step %d of %d; training stopped at step %d, %d ms later",
                    ended.jobId(), ended.state().name().toLowerCase(Locale.ROOT), ended.step(), total, step,
                    java.time.Duration.between(ended.at(), c.clock().instant()).toMillis()));
        }

        @Override
        public void onEval(int phaseStep, double validLoss) {
            int step = before + phaseStep;
            if (pending == null) {
                pending = new LinkedHashMap<>(Map.of("step", (double) step, "total_steps", (double) total));
            }
            pending.put("valid_loss", validLoss);
            flush(step);
        }

        private void flush(int step) {
            String text = String.format(Locale.ROOT, "Step %d/%d: training loss=%.4f", step, total, pending.getOrDefault("train_loss", Double.NaN))
                    + (pending.containsKey("valid_loss") ? String.format(Locale.ROOT, ", validation loss=%.4f", pending.get("valid_loss")) : "");
            pending.values().removeIf(v -> !Double.isFinite(v));
            job = job.measured(text, pending, c.clock().instant());
            pending = null;
        }
    }
}
