package dev.chorus.edge.topics;

import dev.chorus.kafka.TopicNames;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The topics' names in this deployment (the catalogue's partitions and configs stay in {@code Topics}). */
@ConfigMapping(prefix = "chorus.topics")
public interface TopicsConfig {
    /** Compacted adapter manifests: the registry writes them, serving follows them. */
    @WithDefault(TopicNames.ADAPTERS)
    String adapters();

    @WithDefault(TopicNames.FEEDBACK)
    String feedback();

    @WithDefault(TopicNames.TRAINING_JOBS)
    String trainingJobs();

    /** Where records nobody can decode go. */
    @WithDefault(TopicNames.DEAD_LETTER)
    String deadLetter();
}
