package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.TrainingExample;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExampleSelectionTest {
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    static TrainingExample example(int i, TrainingExample.Kind kind, boolean heldOut) {
        String chosen = kind == TrainingExample.Kind.NEGATIVE || kind == TrainingExample.Kind.COUNTED ? null : " yes " + i;
        String rejected = kind == TrainingExample.Kind.PREFERENCE || kind == TrainingExample.Kind.NEGATIVE ? " no " + i : null;
        return new TrainingExample(1, "e-" + i, "acme", "pirate", 1, kind, "prompt " + i, null, chosen, rejected, heldOut, T0.plusSeconds(i));
    }

    @Test
    void newExamplesPlusAReplayOfEarlierOnesOneToOne() {
        List<TrainingExample> all = new ArrayList<>();
        for (int i = 0; i < 30; i++) { // 0..19 trained before, 20..29 new; every fifth is a preference pair
            all.add(example(i, i % 5 == 0 ? TrainingExample.Kind.PREFERENCE : TrainingExample.Kind.SUPERVISED, false));
        }
        all.add(example(40, TrainingExample.Kind.SUPERVISED, true)); // held out: never trained on
        all.add(example(41, TrainingExample.Kind.NEGATIVE, false)); // nothing to imitate
        all.add(example(42, TrainingExample.Kind.COUNTED, false));
        ExampleSelection s = ExampleSelection.of(all, T0.plusSeconds(19), 1.0, 7);
        assertEquals(all.subList(20, 30), s.fresh(), "new since the marker, in arrival order");
        assertEquals(10, s.replay().size(), "as many earlier ones as new ones");
        assertTrue(s.replay().stream().allMatch(x -> x.createdAt().compareTo(T0.plusSeconds(19)) <= 0), "replayed ones are earlier");
        assertEquals(10, new HashSet<>(s.replay()).size(), "without repeats");
        assertEquals(s, ExampleSelection.of(all, T0.plusSeconds(19), 1.0, 7), "seeded: the same selection again");
        assertEquals(T0.plusSeconds(29), s.newest(), "the next marker");
        assertEquals(20, s.training().size());
        assertEquals(List.of(all.get(30)), ExampleSelection.heldOut(all));

        assertEquals(5, ExampleSelection.of(all, T0.plusSeconds(19), 0.5, 7).replay().size());
        assertEquals(0, ExampleSelection.of(all, null, 1.0, 7).replay().size(), "a first job has nothing earlier to replay");
        assertEquals(30, ExampleSelection.of(all, null, 1.0, 7).fresh().size());
    }

    @Test
    void stepsCoverTheEpochsWithinBounds() {
        TrainingConfig config = new SmallRyeConfigBuilder().withMapping(TrainingConfig.class)
                .withDefaultValues(Map.of("chorus.training.instance-id", "t")).build().getConfigMapping(TrainingConfig.class);
        assertEquals(50, FineTuneJob.steps(10, config.job()), "8 epochs of 10 at batch 8 is 10 steps: the minimum applies");
        assertEquals(96, FineTuneJob.steps(96, config.job()), "8 epochs of 96 at batch 8");
        assertEquals(400, FineTuneJob.steps(10_000, config.job()), "the maximum");
    }
}
