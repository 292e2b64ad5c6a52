package dev.chorus.engine.generation;

/** A snapshot of the engine loop for metrics and health. */
public record EngineStats(int running, int waiting, double kvCacheUsage, int lastBatchSize, long steps, long generatedTokens) {
}
