package dev.chorus.engine.finetune;

import dev.chorus.engine.InvalidRequestException;

/**
 * How a fine-tuning run optimises: AdamW with {@code warmupSteps} of linear warmup then cosine or
 * linear decay, gradients of {@code accumulation} micro-batches of {@code batchSize} examples
 * clipped to {@code maxGradNorm} (0: no clipping), and held-out evaluation / checkpoints every K
 * steps (0: never).
 */
public record Optimization(float learningRate, Decay decay, int warmupSteps, float weightDecay, float maxGradNorm, int batchSize,
        int accumulation, int evalEvery, int checkpointEvery) {

    /** How the learning rate falls from its peak after warmup to 0 at the last step. */
    public enum Decay { COSINE, LINEAR }

    public Optimization {
        if (batchSize < 1 || accumulation < 1 || !(learningRate > 0)) {
            throw new InvalidRequestException("batch size and accumulation must be >= 1 and the learning rate > 0");
        }
        if (warmupSteps < 0 || weightDecay < 0 || maxGradNorm < 0 || evalEvery < 0 || checkpointEvery < 0) {
            throw new InvalidRequestException("warmup, weight decay, gradient norm limit and cadences must not be negative");
        }
    }
}
