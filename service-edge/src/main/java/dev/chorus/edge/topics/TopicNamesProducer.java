package dev.chorus.edge.topics;

import dev.chorus.kafka.TopicNames;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Hands services the configured names as the plain value the kafka module takes. */
@ApplicationScoped
public class TopicNamesProducer {
    @Produces
    @Singleton
    TopicNames topicNames(TopicsConfig config) {
        return new TopicNames(config.adapters(), config.feedback(), config.trainingJobs(), config.deadLetter());
    }
}
