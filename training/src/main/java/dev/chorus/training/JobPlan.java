package dev.chorus.training;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.finetune.PreferenceExample;
import dev.chorus.engine.finetune.TrainingExample;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What one job does, whoever asked: start from {@code parent} (null: a fresh adapter), train
 * {@code supervisedSteps} on {@code supervised} then {@code dpoSteps} of DPO on {@code pairs},
 * judge against {@code active} (the target adapter's active version; null with {@code hasActive}
 * false: the base) on the held-out data, publish. {@code parentVersion} is the target adapter's
 * version the new one continues (its provenance), null when it starts elsewhere.
 */
record JobPlan(Adapter parent, Integer parentVersion, boolean hasActive, Adapter active, List<TrainingExample> supervised,
        int supervisedSteps, List<PreferenceExample> pairs, int dpoSteps, Supplier<HeldOut> heldOut, boolean judgeByMargin,
        float learningRate, int batchSize, double beta, long seed, boolean skipGate, Instant trainedThrough,
        Map<String, Double> metrics) {

    /** What a version is judged on: examples (held-out loss) and preference pairs (held-out margin). */
    record HeldOut(List<TrainingExample> examples, List<PreferenceExample> pairs) {
        boolean isEmpty(boolean byMargin) {
            return byMargin ? pairs.isEmpty() : examples.isEmpty();
        }
    }

    int totalSteps() {
        return supervisedSteps + dpoSteps;
    }
}
