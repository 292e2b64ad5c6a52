package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.TrainingExample;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TriggersTest {
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    static TrainingConfig.Trigger config(int n, int m, Duration t, Map<String, TrainingConfig.TenantTrigger> tenants) {
        return new TrainingConfig.Trigger() {
            public int newExamples() {
                return n;
            }

            public int minExamples() {
                return m;
            }

            public Duration maxWait() {
                return t;
            }

            public Map<String, TrainingConfig.TenantTrigger> tenants() {
                return tenants;
            }
        };
    }

    static TrainingConfig.TenantTrigger override(Integer n) {
        return new TrainingConfig.TenantTrigger() {
            public Optional<Integer> newExamples() {
                return Optional.ofNullable(n);
            }

            public Optional<Integer> minExamples() {
                return Optional.empty();
            }

            public Optional<Duration> maxWait() {
                return Optional.empty();
            }
        };
    }

    static TrainingExample example(int i, TrainingExample.Kind kind, boolean heldOut, Instant at) {
        String chosen = kind == TrainingExample.Kind.SUPERVISED || kind == TrainingExample.Kind.PREFERENCE ? " yes." : null;
        String rejected = kind == TrainingExample.Kind.PREFERENCE || kind == TrainingExample.Kind.NEGATIVE ? " no." : null;
        return new TrainingExample(1, "e-" + i, "acme", "pirate", 1, kind, "Tom " + i, null, chosen, rejected, heldOut, at);
    }

    static List<TrainingExample> supervised(int count, Instant from) {
        List<TrainingExample> xs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            xs.add(example(i, i % 2 == 0 ? TrainingExample.Kind.SUPERVISED : TrainingExample.Kind.PREFERENCE, false, from.plusSeconds(i)));
        }
        return xs;
    }

    @Test
    void enoughNewExamplesAreDueAtOnce() {
        Triggers triggers = new Triggers(config(32, 8, Duration.ofMinutes(10), Map.of()));
        assertFalse(triggers.due("acme", supervised(31, T0), null, T0.plusSeconds(40)));
        assertTrue(triggers.due("acme", supervised(32, T0), null, T0.plusSeconds(40)));
    }

    @Test
    void fewerAreDueOnceTheOldestHasWaited() {
        Clock clock = Clock.fixed(T0.plus(Duration.ofMinutes(9)), ZoneOffset.UTC);
        Triggers triggers = new Triggers(config(32, 8, Duration.ofMinutes(10), Map.of()));
        List<TrainingExample> eight = supervised(8, T0);
        assertFalse(triggers.due("acme", eight, null, clock.instant()), "the oldest has waited 9 of 10 minutes");
        clock = Clock.offset(clock, Duration.ofMinutes(1));
        assertTrue(triggers.due("acme", eight, null, clock.instant()));
        assertFalse(triggers.due("acme", supervised(7, T0), null, clock.instant().plus(Duration.ofHours(5))), "never below M");
    }

    @Test
    void onlyNewTrainableExamplesCount() {
        Triggers triggers = new Triggers(config(4, 2, Duration.ofMinutes(10), Map.of()));
        List<TrainingExample> xs = new ArrayList<>(supervised(3, T0)); // at T0, T0+1, T0+2
        xs.add(example(10, TrainingExample.Kind.NEGATIVE, false, T0.plusSeconds(10)));
        xs.add(example(11, TrainingExample.Kind.COUNTED, false, T0.plusSeconds(11)));
        xs.add(example(12, TrainingExample.Kind.SUPERVISED, true, T0.plusSeconds(12)));
        assertEquals(3, Triggers.fresh(xs, null).size(), "negatives, counted and held-out examples are no training data");
        assertFalse(triggers.due("acme", xs, null, T0.plusSeconds(20)));
        xs.add(example(13, TrainingExample.Kind.SUPERVISED, false, T0.plusSeconds(13)));
        assertTrue(triggers.due("acme", xs, null, T0.plusSeconds(20)));
        assertEquals(2, Triggers.fresh(xs, T0.plusSeconds(1)).size(), "after the marker only");
        assertFalse(triggers.due("acme", xs, T0.plusSeconds(1), T0.plusSeconds(20)));
    }

    @Test
    void aTenantsOverridesWin() {
        Triggers triggers = new Triggers(config(32, 8, Duration.ofMinutes(10), Map.of("acme", override(2))));
        assertEquals(new Triggers.Thresholds(2, 2, Duration.ofMinutes(10)), triggers.of("acme"), "M follows a lower N");
        assertEquals(new Triggers.Thresholds(32, 8, Duration.ofMinutes(10)), triggers.of("globex"));
        assertTrue(triggers.due("acme", supervised(2, T0), null, T0));
        Triggers broken = new Triggers(config(4, 8, Duration.ofMinutes(10), Map.of()));
        assertThrows(IllegalArgumentException.class, () -> broken.of("globex"), "min above new is a configuration error");
    }
}
