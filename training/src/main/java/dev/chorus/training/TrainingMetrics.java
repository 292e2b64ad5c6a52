package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * chorus_training_examples_processed_total{kind} and chorus_training_dead_letters_total count work done, so a batch
 * that is retried after an aborted transaction counts again; the datasets (GET .../examples) are the exact counts.
 */
@Startup
@ApplicationScoped
public class TrainingMetrics {
    private final Map<TrainingExample.Kind, Counter> processed = new EnumMap<>(TrainingExample.Kind.class);
    private final Counter deadLetters;

    public TrainingMetrics(MeterRegistry registry) {
        for (TrainingExample.Kind kind : TrainingExample.Kind.values()) {
            processed.put(kind, Counter.builder("chorus.training.examples.processed").description("Feedback events turned into examples")
                    .tag("kind", kind.name().toLowerCase(Locale.ROOT)).register(registry));
        }
        deadLetters = Counter.builder("chorus.training.dead.letters").description("Feedback records that were not valid events")
                .register(registry);
    }

    void written(TrainingExample example) {
        processed.get(example.kind()).increment();
    }

    void deadLettered() {
        deadLetters.increment();
    }
}
