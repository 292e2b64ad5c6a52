package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.time.Duration;

/**
 * chorus_training_examples_processed_total{kind} and chorus_training_dead_letters_total count work done, so a batch
 * that is retried after an aborted transaction counts again; the datasets (GET .../examples) are the exact counts.
 * chorus_training_remerges_total{outcome=merged|failed|refused,reason}, chorus_training_remerge_seconds and
 * chorus_training_remerge_pending tell what the re-merger does.
 */
@Startup
@ApplicationScoped
public class TrainingMetrics {
    private final Map<TrainingExample.Kind, Counter> processed = new EnumMap<>(TrainingExample.Kind.class);
    private final Counter deadLetters;
    private final MeterRegistry registry;
    private final Counter remerged;
    private final Counter remergeFailed;
    private final Timer remergeTime;

    public TrainingMetrics(MeterRegistry registry) {
        this.registry = registry;
        remerged = remerges("merged", "none");
        remergeFailed = remerges("failed", "none");
        remergeTime = Timer.builder("chorus.training.remerge").description("Time to merge a version into the base and attach it")
                .register(registry);
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

    void remerged(double seconds) {
        remerged.increment();
        remergeTime.record(Duration.ofNanos((long) (seconds * 1e9)));
    }

    void remergeFailed() {
        remergeFailed.increment();
    }

    /** A version that can never merge into this base, by reason (base_mismatch, base_not_compressed, invalid_adapter). */
    void remergeRefused(String reason) {
        remerges("refused", reason).increment();
    }

    /** Versions queued, merging or waiting for a retry. */
    void remergePending(Supplier<Integer> pending) {
        Gauge.builder("chorus.training.remerge.pending", () -> pending.get()).description("Versions of merged-only types waiting to be merged")
                .register(registry);
    }

    private Counter remerges(String outcome, String reason) {
        return Counter.builder("chorus.training.remerges").description("Re-merges of versions of merged-only types, by outcome")
                .tag("outcome", outcome).tag("reason", reason).register(registry);
    }
}
