package dev.chorus.engine.generation;

import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.adapter.AdapterKey;

/**
 * What other threads ask of the engine thread, which alone owns the batch, the KV cache and adapter
 * residency. Each kind is handled in one place, {@code EngineLoop.handle}.
 */
sealed interface EngineCommand {

    /** A new request joins the waiting queue. */
    record Admit(Sequence sequence) implements EngineCommand {
    }

    /** Stop a request, waiting or running; unknown ids are ignored. */
    record Cancel(String requestId) implements EngineCommand {
    }

    /** Start loading an adapter version into the host tier before requests ask for it. */
    record Prefetch(AdapterKey adapter) implements EngineCommand {
    }

    /** A background adapter load finished: its result becomes the adapter's state here. */
    record Loaded(AdapterCache.LoadResult result) implements EngineCommand {
    }

    /** Drop an adapter version from both tiers once no running request uses it. */
    record Evict(AdapterKey adapter) implements EngineCommand {
    }

    /** {@code active} replaced {@code retired} (null: none) for new requests: prefetch it, evict the other once unused. */
    record Swap(AdapterKey retired, AdapterKey active) implements EngineCommand {
    }

    /** A merged variant's background build finished: it becomes resident here (or failed). */
    record VariantLoaded(dev.chorus.engine.merged.VariantResidency.LoadResult result) implements EngineCommand {
    }
}
