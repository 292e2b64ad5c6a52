package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * When an adapter has enough new training data for a job: at least {@code newExamples} new
 * supervised or preference examples since the last succeeded job, or at least
 * {@code minExamples} of them once the oldest has waited {@code maxWait}. Held-out examples never
 * count: they are the evaluation set, not training data. Pure; the caller supplies the time.
 */
final class Triggers {
    /** One tenant's thresholds. */
    record Thresholds(int newExamples, int minExamples, Duration maxWait) {
        Thresholds {
            if (newExamples < 1 || minExamples < 1 || minExamples > newExamples || maxWait.isNegative()) {
                throw new IllegalArgumentException("need 1 <= min-examples <= new-examples and max-wait >= 0, not " + newExamples + "/"
                        + minExamples + "/" + maxWait);
            }
        }
    }

    private final TrainingConfig.Trigger config;

    Triggers(TrainingConfig.Trigger config) {
        this.config = config;
    }

    /**
     * {@code tenant}'s thresholds: its overrides over the defaults. A tenant that only lowers
     * new-examples below the default min-examples gets that as its minimum too.
     */
    Thresholds of(String tenant) {
        TrainingConfig.TenantTrigger own = config.tenants().get(tenant);
        if (own == null) {
            return new Thresholds(config.newExamples(), config.minExamples(), config.maxWait());
        }
        int n = own.newExamples().orElse(config.newExamples());
        int m = own.minExamples().orElse(Math.min(config.minExamples(), n));
        return new Thresholds(n, m, own.maxWait().orElse(config.maxWait()));
    }

    /** The examples a job would train on as new: supervised or preference, not held out, created after {@code trainedThrough}. */
    static List<TrainingExample> fresh(List<TrainingExample> examples, Instant trainedThrough) {
        return examples.stream()
                .filter(x -> x.kind() == TrainingExample.Kind.SUPERVISED || x.kind() == TrainingExample.Kind.PREFERENCE)
                .filter(x -> !x.heldOut())
                .filter(x -> trainedThrough == null || x.createdAt().isAfter(trainedThrough))
                .toList();
    }

    /** Whether the dataset's examples call for a job now. */
    boolean due(String tenant, List<TrainingExample> examples, Instant trainedThrough, Instant now) {
        Thresholds t = of(tenant);
        List<TrainingExample> fresh = fresh(examples, trainedThrough);
        if (fresh.size() >= t.newExamples()) {
            return true;
        }
        if (fresh.size() < t.minExamples()) {
            return false;
        }
        Instant oldest = fresh.stream().map(TrainingExample::createdAt).min(Instant::compareTo).orElseThrow();
        return !oldest.plus(t.maxWait()).isAfter(now);
    }
}
