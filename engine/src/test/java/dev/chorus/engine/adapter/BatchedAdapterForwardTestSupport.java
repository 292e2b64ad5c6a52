package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.EnumSet;

/** Random adapters of every type for tests. */
public final class BatchedAdapterForwardTestSupport {
    private BatchedAdapterForwardTestSupport() {
    }

    public static Adapter randomAdapter(ModelConfig c, AdapterType type, int rank, long seed) {
        return RandomAdapters.generate(c, type, rank, EnumSet.allOf(Projection.class), type == AdapterType.SCALE ? 0.2 : 0.1, seed, null);
    }
}
