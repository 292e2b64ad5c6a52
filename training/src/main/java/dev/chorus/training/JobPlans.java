package dev.chorus.training;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.finetune.PreferenceExample;
import dev.chorus.engine.tokenizer.ChatTemplate;
import dev.chorus.kafka.JobRequest;
import dev.chorus.kafka.TrainingExample;
import dev.chorus.kafka.TrainingJobEvent;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a job into its {@link JobPlan}: a feedback job trains the adapter's active version on its
 * new examples plus replay (and DPO on its corrected dislikes when there are enough); an API job
 * trains what its request names (base or an adapter version) on its uploaded file with its
 * hyperparameters, judged on its validation file (else the adapter's held-out feedback).
 */
final class JobPlans {
    private final FineTuneJob.Context c;
    private final Path work;

    JobPlans(FineTuneJob.Context context, Path work) {
        this.c = context;
        this.work = work;
    }

    JobPlan plan(TrainingJobEvent job) {
        return job.fromApi() ? api(job) : feedback(job);
    }

    private JobPlan feedback(TrainingJobEvent job) {
        String tenant = job.tenant();
        String name = job.adapter();
        Optional<RegistryClient.ActiveVersion> active = c.registry().active(tenant, name);
        Adapter parent = active.map(v -> read(v, "parent")).orElse(null);
        List<TrainingExample> examples = c.datasets().of(tenant, name).map(Dataset::examples).orElse(List.of());
        long seed = job.jobId().hashCode();
        TrainingConfig.Job cfg = c.config().job();
        ExampleSelection selection = ExampleSelection.of(examples, c.jobs().trainedThrough(tenant, name).orElse(null), cfg.replayRatio(), seed);
        List<dev.chorus.engine.finetune.TrainingExample> training = selection.training().stream()
                .filter(x -> !x.chosen().isEmpty()).map(this::asEngineExample).toList();
        if (selection.fresh().isEmpty() || training.isEmpty()) {
            throw new JobFailure("no_training_examples", "no new supervised examples since the last version (erased since the job was queued?)");
        }
        int steps = FineTuneJob.steps(training.size(), cfg);
        // Corrections are also preference pairs: sharpen the new version against the answers users rejected.
        List<PreferenceExample> pairs = preferencePairs(selection.fresh());
        int dpoSteps = pairs.size() >= cfg.dpoMinPairs() ? Math.max(1, FineTuneJob.steps(pairs.size(), cfg) / 2) : 0;
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("train_examples", (double) selection.fresh().size());
        metrics.put("replay_examples", (double) selection.replay().size());
        return new JobPlan(parent, active.map(RegistryClient.ActiveVersion::version).orElse(null), active.isPresent(), parent, training,
                steps, dpoSteps > 0 ? pairs : List.of(), dpoSteps, () -> datasetHeldOut(tenant, name), false, cfg.learningRate(),
                cfg.batchSize(), cfg.dpoBeta(), seed, false, selection.newest(), metrics);
    }

    private JobPlan api(TrainingJobEvent job) {
        JobRequest r = job.request();
        TrainingConfig.Job cfg = c.config().job();
        Optional<RegistryClient.ActiveVersion> active = c.registry().active(job.tenant(), job.adapter());
        Optional<RegistryClient.ActiveVersion> parentVersion = Optional.empty();
        if (r.parentAdapter() != null) {
            // model adapter@version names the version; a bare adapter name continues its active version
            int at = r.model().indexOf('@');
            parentVersion = at > 0 ? c.registry().version(job.tenant(), r.parentAdapter(), Integer.parseInt(r.model().substring(at + 1)))
                    : c.registry().active(job.tenant(), r.parentAdapter());
            if (parentVersion.isEmpty()) {
                throw new JobFailure("model_not_found", "model " + r.model() + " does not exist (any more)", "model");
            }
        }
        Adapter parent = parentVersion.map(v -> read(v, "parent")).orElse(null);
        boolean sameAsParent = active.isPresent() && parentVersion.isPresent() && r.parentAdapter().equals(job.adapter())
                && active.get().version() == parentVersion.get().version();
        Adapter judgedAgainst = active.isEmpty() ? null : sameAsParent ? parent : read(active.get(), "active");
        Integer continues = r.parentAdapter() != null && r.parentAdapter().equals(job.adapter()) ? parentVersion.get().version() : null;

        FileExamples files = new FileExamples(this::prompt);
        int batch = r.batchSize() != null ? r.batchSize() : cfg.batchSize();
        int epochs = r.epochs() != null ? r.epochs() : cfg.epochs();
        float lr = (float) (cfg.learningRate() * (r.learningRateMultiplier() != null ? r.learningRateMultiplier() : 1.0));
        double beta = r.beta() != null ? r.beta() : cfg.dpoBeta();
        long seed = r.seed() != null ? r.seed() : job.jobId().hashCode();
        byte[] training = content(r.trainingFile(), "training_file");
        Optional<byte[]> validation = Optional.ofNullable(r.validationFile()).map(id -> content(id, "validation_file"));
        Map<String, Double> metrics = new LinkedHashMap<>();
        // A preference validation file scores both ways: loss on the preferred answers, and the margin over the rejected ones.
        boolean pairedValidation = r.validationFile() != null && c.files().get(r.validationFile())
                .map(f -> f.kind() == TrainingFile.Kind.PREFERENCE).orElse(false);
        JobPlan.HeldOut heldOut = validation.map(v -> {
            if (!pairedValidation) {
                return new JobPlan.HeldOut(files.supervised(v), List.<PreferenceExample>of());
            }
            List<PreferenceExample> p = files.preferences(v);
            return new JobPlan.HeldOut(p.stream().map(x -> new dev.chorus.engine.finetune.TrainingExample(x.prompt(), x.chosen())).toList(), p);
        }).orElseGet(() -> datasetHeldOut(job.tenant(), job.adapter()));
        if (r.method() == JobRequest.Method.DPO) {
            List<PreferenceExample> pairs = files.preferences(training);
            int steps = apiSteps(epochs, pairs.size(), batch, cfg);
            metrics.put("train_pairs", (double) pairs.size());
            return new JobPlan(parent, continues, active.isPresent(), judgedAgainst, List.of(), 0, pairs, steps, () -> heldOut, true, lr, batch,
                    beta, seed, r.skipGate(), null, metrics);
        }
        List<dev.chorus.engine.finetune.TrainingExample> examples = files.supervised(training);
        int steps = apiSteps(epochs, examples.size(), batch, cfg);
        metrics.put("train_examples", (double) examples.size());
        return new JobPlan(parent, continues, active.isPresent(), judgedAgainst, examples, steps, List.of(), 0, () -> heldOut, false, lr,
                batch, beta, seed, r.skipGate(), null, metrics);
    }

    /** {@code epochs} passes over {@code examples} at {@code batch}, at least one step and at most the configured maximum. */
    static int apiSteps(int epochs, int examples, int batch, TrainingConfig.Job cfg) {
        return (int) Math.max(1, Math.min(cfg.maxSteps(), Math.ceil(epochs * (double) examples / batch)));
    }

    private byte[] content(String fileId, String param) {
        TrainingFile f = c.files().get(fileId).orElseThrow(() -> new JobFailure("invalid_" + param,
                "file " + fileId + " was deleted before the job ran", param));
        return c.files().content(f);
    }

    /** The adapter's held-out feedback as it is now: every example that arrived while training counts too. */
    private JobPlan.HeldOut datasetHeldOut(String tenant, String name) {
        List<TrainingExample> now = c.datasets().of(tenant, name).map(Dataset::examples).orElse(List.of());
        return new JobPlan.HeldOut(ExampleSelection.heldOut(now).stream().filter(x -> !x.chosen().isEmpty()).map(this::asEngineExample)
                .toList(), preferencePairs(ExampleSelection.heldOutPairs(now)));
    }

    private Adapter read(RegistryClient.ActiveVersion v, String dir) {
        AdapterArchive.unzip(c.registry().blob(v.sha256()), work.resolve(dir), 1L << 30);
        return c.base().readAdapter(work.resolve(dir), c.config().job().maxRank());
    }

    private String prompt(List<ChatTemplate.Message> messages) {
        return c.base().prompt(messages);
    }

    /** A prompt as serving rendered it (chat messages through the model's template), continued by the chosen answer. */
    private dev.chorus.engine.finetune.TrainingExample asEngineExample(TrainingExample x) {
        String prompt = x.prompt() != null ? x.prompt()
                : prompt(x.messages().stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList());
        return new dev.chorus.engine.finetune.TrainingExample(prompt, x.chosen());
    }

    /** Corrected dislikes as preference pairs: the correction preferred over the completion the user got. */
    private List<PreferenceExample> preferencePairs(List<TrainingExample> examples) {
        return examples.stream().filter(x -> x.kind() == TrainingExample.Kind.PREFERENCE)
                .filter(x -> !x.chosen().isEmpty() && !x.rejected().isEmpty() && !x.chosen().equals(x.rejected()))
                .map(x -> new PreferenceExample(asEngineExample(x).prompt(), x.chosen(), x.rejected())).toList();
    }
}
