package dev.chorus.serving.ops;

import dev.chorus.engine.generation.EngineStats;

/** Where the metrics read the engine's state; the model lifecycle provides it, so ops does not depend on it. */
public interface EngineStatsSource {
    EngineStats stats();
}
