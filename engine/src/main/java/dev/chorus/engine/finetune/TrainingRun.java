package dev.chorus.engine.finetune;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.llama.Projection;
import java.util.Set;

/**
 * What a fine-tuning run produces: an adapter of this kind (its rank, α and own parameters,
 * validated by the kind) on these targets, trained for {@code steps} optimizer steps from
 * {@code seed} (initialization and data order).
 */
public record TrainingRun(AdapterKind kind, Set<Projection> targets, int steps, long seed) {
    public TrainingRun {
        if (steps < 1 || targets.isEmpty()) {
            throw new InvalidRequestException("steps must be >= 1 and at least one target module given");
        }
        targets = Set.copyOf(targets);
    }
}
