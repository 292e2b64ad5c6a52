package dev.chorus.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The topic catalogue: every topic Chorus uses, with the partitions and configuration it needs.
 * Names are deployment configuration ({@link TopicNames}), not part of the catalogue.
 */
public enum Topics {
    /** Adapter manifests keyed by tenant/name; compacted, so the latest state of every adapter is kept forever. */
    ADAPTERS(1, Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
            TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0",
            // Tombstones stay a day, so a consumer that was down sees the delete.
            TopicConfig.DELETE_RETENTION_MS_CONFIG, Long.toString(24L * 3600 * 1000))),
    /** Feedback keyed by tenant (one tenant's events stay in order); kept a week. */
    FEEDBACK(3, Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.RETENTION_MS_CONFIG, Long.toString(7L * 24 * 3600 * 1000))),
    /**
     * Examples of record keyed by tenant/adapter/eventId; compacted, so a repeated event id collapses and
     * a tombstone erases an example. Partitioned like feedback, so training instances share the load.
     */
    TRAINING_EXAMPLES(3, Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
            TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0",
            // Tombstones (erasure requests) stay a day, so a training instance that was down sees them.
            TopicConfig.DELETE_RETENTION_MS_CONFIG, Long.toString(24L * 3600 * 1000))),
    /**
     * Training job states keyed by job id; compacted, so every job's latest state (and with it each adapter's
     * "trained through" marker) is kept for as long as the job is. One partition: one order for all jobs.
     */
    TRAINING_JOBS(1, Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
            TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "0")),
    /** Records a consumer could not decode, with headers naming their origin and the reason. */
    DEAD_LETTER(1, Map.of(
            TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
            TopicConfig.RETENTION_MS_CONFIG, Long.toString(30L * 24 * 3600 * 1000)));

    /** Headers a dead letter carries. */
    public static final String HEADER_SOURCE_TOPIC = "chorus.dlq.source-topic";
    public static final String HEADER_SOURCE_OFFSET = "chorus.dlq.source-offset";
    public static final String HEADER_REASON = "chorus.dlq.reason";

    private final int partitions;
    private final Map<String, String> configs;

    Topics(int partitions, Map<String, String> configs) {
        this.partitions = partitions;
        this.configs = configs;
    }

    public NewTopic newTopic(String name, short replication) {
        return new NewTopic(name, partitions, replication).configs(configs);
    }

    /** {@link #ensure(Admin, short, TopicNames)} with the default names (the local run's broker, tests). */
    public static void ensure(Admin admin, short replication) {
        ensure(admin, replication, TopicNames.DEFAULTS);
    }

    /** Creates the missing topics under {@code names} (idempotent; several services may race to do it). */
    public static void ensure(Admin admin, short replication, TopicNames names) {
        try {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> missing = new ArrayList<>();
            for (Topics t : values()) {
                if (!existing.contains(names.of(t))) {
                    missing.add(t.newTopic(names.of(t), replication));
                }
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get();
            }
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create Chorus topics: " + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }
}
