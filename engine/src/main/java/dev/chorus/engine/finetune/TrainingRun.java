package dev.chorus.engine.finetune;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.llama.Projection;
import java.util.Set;

/**
 * What a fine-tuning run produces: an adapter of this kind, rank, scaling and targets, trained for
 * {@code steps} optimizer steps from {@code seed} (initialization and data order).
 * {@code groupSize}: the quantization group qa-lora and qa-hira pool over, null for the others.
 */
public record TrainingRun(AdapterType type, int rank, float alpha, Set<Projection> targets, Integer groupSize, int steps, long seed) {
    public TrainingRun {
        if (steps < 1 || targets.isEmpty()) {
            throw new InvalidRequestException("steps must be >= 1 and at least one target module given");
        }
        if (type != AdapterType.SCALE && rank < 1) {
            throw new InvalidRequestException("rank must be >= 1 for " + type.label());
        }
        if ((type == AdapterType.QA_LORA || type == AdapterType.QA_HIRA) && (groupSize == null || groupSize < 1)) {
            throw new InvalidRequestException(type.label() + " needs the quantization group size");
        }
        targets = Set.copyOf(targets);
    }
}
