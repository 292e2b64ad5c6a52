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
    /** This service's own files (job work directories and checkpoints, later); relative to the working directory. */
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

    /** When feedback makes a job due. */
    Trigger trigger();

    /** How many jobs run at once across all tenants. */
    @WithDefault("1")
    int concurrency();

    /** How often the scheduler looks for due adapters and free runner slots. */
    @WithDefault("PT5S")
    Duration scheduleInterval();

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
