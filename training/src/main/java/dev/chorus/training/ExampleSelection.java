package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * What one job trains and is judged on, from an adapter's examples: the new supervised examples
 * (supervised, and the chosen side of preference pairs) since the last trained version, a seeded
 * sample of earlier ones replayed beside them against forgetting, and the fixed held-out set.
 * Pure: the same examples, marker and seed give the same selection.
 */
record ExampleSelection(List<TrainingExample> fresh, List<TrainingExample> replay, Instant newest) {

    /** {@code replayRatio} earlier examples per new one, as far as there are earlier ones. */
    static ExampleSelection of(List<TrainingExample> examples, Instant trainedThrough, double replayRatio, long seed) {
        List<TrainingExample> fresh = Triggers.fresh(examples, trainedThrough);
        List<TrainingExample> earlier = new ArrayList<>(Triggers.fresh(examples, null));
        earlier.removeAll(fresh);
        Collections.shuffle(earlier, new Random(seed));
        int replayed = (int) Math.min(earlier.size(), Math.round(replayRatio * fresh.size()));
        Instant newest = fresh.stream().map(TrainingExample::createdAt).max(Comparator.naturalOrder()).orElse(trainedThrough);
        return new ExampleSelection(fresh, List.copyOf(earlier.subList(0, replayed)), newest);
    }

    /** The adapter's held-out set: every held-out example with a preferred answer to score. */
    static List<TrainingExample> heldOut(List<TrainingExample> examples) {
        return examples.stream().filter(x -> x.heldOut() && x.chosen() != null).toList();
    }

    /** The adapter's held-out preference pairs (corrected dislikes in the held-out set). */
    static List<TrainingExample> heldOutPairs(List<TrainingExample> examples) {
        return examples.stream().filter(x -> x.heldOut() && x.kind() == TrainingExample.Kind.PREFERENCE).toList();
    }

    /** The new examples, then the replayed ones. */
    List<TrainingExample> training() {
        List<TrainingExample> all = new ArrayList<>(fresh);
        all.addAll(replay);
        return all;
    }
}
