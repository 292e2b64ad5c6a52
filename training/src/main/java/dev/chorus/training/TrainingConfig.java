package dev.chorus.training;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What the training service can be told; env vars map automatically (CHORUS_TRAINING_DATA_DIRECTORY, ...).
 * Keys (chorus.auth.*) and topic names (chorus.topics.*) are the service edge's.
 */
@ConfigMapping(prefix = "chorus.training")
public interface TrainingConfig {
    /** This service's own files (each running job's work directory); relative to the working directory. */
    @WithDefault("data/training")
    String dataDirectory();

    /**
     * Names this instance's transactional producer (chorus-training-&lt;id&gt;): unique per running instance and the
     * same after a restart (a StatefulSet pod name, the host name), so a restart fences its predecessor at once.
     */
    String instanceId();

    /** How long start-up may take to read the examples topic to its end before the service reports unready. */
    @WithDefault("PT60S")
    Duration catchUpTimeout();

    /** How often a job is run before it stays failed: a job interrupted by a restart is queued again while it has attempts left. */
    @WithDefault("2")
    int jobAttempts();

    /**
     * A job another instance runs that has recorded no progress for this long is taken as
     * interrupted (its instance died and did not come back): failed, and queued again while it has
     * attempts left. A running job records its step every progress interval.
     */
    @WithDefault("PT30M")
    Duration staleAfter();

    /** When feedback makes a job due. */
    Trigger trigger();

    /** How many jobs run at once across all tenants. */
    @WithDefault("1")
    int concurrency();

    /** How often the scheduler looks for due adapters and free runner slots. */
    @WithDefault("PT5S")
    Duration scheduleInterval();

    /** The base model jobs train on: the checkpoint serving and the registry load. */
    @WithDefault("../shared/models/TinyStories-656K")
    String baseModel();

    /**
     * Who runs queued jobs: {@code in-process} (this service), {@code kubernetes} (a {@code batch/v1} Job per
     * job, running this image in its job mode), or {@code none} (jobs wait; an instance that only takes feedback).
     */
    @WithDefault("in-process")
    RunnerKind runner();

    enum RunnerKind { IN_PROCESS, KUBERNETES, NONE }

    /**
     * Job mode: this process runs the one job with this id (which a Kubernetes runner started), records its
     * end and exits; it takes no feedback and schedules nothing. Set by the Kubernetes runner in the job pods.
     */
    Optional<String> runJob();

    /** Whether this process consumes feedback into examples (job pods do not: the service's instances do). */
    @WithDefault("true")
    boolean takeFeedback();

    /** The Jobs the Kubernetes runner creates. */
    Kubernetes kubernetes();

    /** Uploaded fine-tuning files. */
    Files files();

    interface Files {
        /** Largest accepted file (bytes); larger uploads get a JSON 413. */
        @WithDefault("67108864")
        long maxBytes();
    }

    /** The adapter registry jobs read active versions from and publish new ones to. */
    Registry registry();

    /** How a job trains. */
    Job job();

    /** The adapter a job creates for an adapter that has no version yet. */
    NewAdapter newAdapter();

    /** Re-merging versions of the merged-only types into the base. */
    Remerge remerge();

    interface Remerge {
        /**
         * Whether this instance follows the adapters topic and merges every version of a merged-only
         * type (sparse-peft, qa-sparse-peft) that has no merged model yet into the base model, then
         * attaches it in the registry (needs a compressed base and the registry key; job pods never do).
         */
        @WithDefault("true")
        boolean enabled();

        /** Merges that run at once (each holds one merged copy of the base's block linears). */
        @WithDefault("1")
        int concurrency();

        /** The wait before the first retry of a failed merge; it doubles with each failure up to {@link #maxBackoff()}. */
        @WithDefault("PT5S")
        Duration backoff();

        @WithDefault("PT5M")
        Duration maxBackoff();

        /** How long start-up waits for the adapters topic before re-merging starts later, in the background. */
        @WithDefault("PT60S")
        Duration catchUpTimeout();
    }

    /** How much worse (in held-out loss, nats per token) a new version may be and still be promoted. */
    @WithDefault("0")
    double gateTolerance();

    interface Registry {
        @WithDefault("http://localhost:8001")
        String url();

        /** An operator key of the registry (jobs read and write every tenant's adapters); without one, jobs fail saying so. */
        Optional<String> apiKey();

        @WithDefault("PT30S")
        Duration timeout();
    }

    interface Job {
        /**
         * Optimizer steps: enough for {@code epochs} passes over the new and replayed examples at
         * {@code batchSize}, within [{@code minSteps}, {@code maxSteps}].
         */
        @WithDefault("8")
        int epochs();

        @WithDefault("50")
        int minSteps();

        @WithDefault("400")
        int maxSteps();

        @WithDefault("8")
        int batchSize();

        @WithDefault("0.002")
        float learningRate();

        /** Earlier examples replayed per new one, against forgetting (1: as many old as new, when there are that many). */
        @WithDefault("1.0")
        double replayRatio();

        /**
         * With at least this many new preference pairs (corrected dislikes), supervised training is
         * followed by a DPO phase on them (half the steps, the supervised result as reference).
         */
        @WithDefault("8")
        int dpoMinPairs();

        /** DPO's β: how far the policy may move from its reference to separate preferred from rejected answers. */
        @WithDefault("0.1")
        double dpoBeta();

        /** Largest adapter rank a job accepts from the registry. */
        @WithDefault("64")
        int maxRank();

        /** How often a running job records its step and loss on the jobs topic. */
        @WithDefault("PT1S")
        Duration progressInterval();
    }

    interface Kubernetes {
        /** The image job pods run: the training service's own (its job mode); needed with runner=kubernetes. */
        Optional<String> image();

        /** Where the Jobs go; the namespace of the runner's own pod (or kube config) when absent. */
        Optional<String> namespace();

        /**
         * A YAML file with the job pods' template (a PodTemplateSpec: environment, volumes, node selector,
         * tolerations, service account), usually mounted from a ConfigMap; the runner adds the image, the
         * job's id, its resources and its labels.
         */
        Optional<String> podTemplate();

        /** CPU a job pod requests. */
        @WithDefault("2")
        String cpu();

        /** Memory a job pod requests and is limited to. */
        @WithDefault("8Gi")
        String memory();

        /** GPUs (nvidia.com/gpu) a job pod gets; 0 trains on CPU. */
        @WithDefault("0")
        int gpus();

        /** How long a job pod may run before Kubernetes stops it (and the job fails). */
        @WithDefault("PT2H")
        Duration activeDeadline();

        /** How long a finished Job, and with it its pod's log, is kept. */
        @WithDefault("PT1H")
        Duration keepFinished();
    }

    interface NewAdapter {
        /**
         * lora, qa-lora, qa-hira, scale (served unmerged), or sparse-peft, qa-sparse-peft (SQFT: trained
         * against a compressed base's mask and grid, served merged: the re-merger merges each version).
         */
        @WithDefault("lora")
        String type();

        @WithDefault("8")
        int rank();

        /** LoRA's α; 2 × rank when absent. */
        Optional<Float> alpha();

        /** all, qkvo, or a list such as q,k,v,o,gate,up,down. */
        @WithDefault("all")
        String targets();
    }

    interface Trigger {
        /** New supervised or preference examples since the last job that make a job due at once. */
        @WithDefault("32")
        int newExamples();

        /** Fewer make a job due too, once the oldest of them has waited {@link #maxWait()}. */
        @WithDefault("8")
        int minExamples();

        @WithDefault("PT10M")
        Duration maxWait();

        /** Per-tenant overrides (chorus.training.trigger.tenants.acme.new-examples=...). */
        Map<String, TenantTrigger> tenants();
    }

    interface TenantTrigger {
        Optional<Integer> newExamples();

        Optional<Integer> minExamples();

        Optional<Duration> maxWait();
    }
}
