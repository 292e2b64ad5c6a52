package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.AdapterKey;

/** What the engine tells its host about merging (logs, metrics, tests); called on the engine thread, must not block. */
public interface MergeListener {
    /** A merge, unmerge, LRU eviction or failed build. */
    default void decided(MergePolicy.Decision decision) {
    }

    /** A request started, on its adapter's merged variant or not. */
    default void admitted(String requestId, AdapterKey adapter, boolean merged) {
    }

    /** Variants resident and the bytes they add, after every change. */
    default void resident(int variants, long bytes) {
    }

    MergeListener NONE = new MergeListener() {
    };
}
