package dev.chorus.engine.adapter;

import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ObjLongConsumer;

/**
 * The parts an engine loop needs to serve adapters, wired together: the device slot tensors, the
 * cache that owns residency over them, a loader thread for adapters on local storage and a bounded
 * pool for those that must be downloaded first (so different adapters download in parallel and a
 * local one never waits behind a download). It keeps no state of its own; it only ties their
 * lifetimes to the engine's (closed with the loop).
 */
public final class AdapterRuntime implements AutoCloseable {
    private final AdapterSlots slots;
    private final AdapterCache cache;
    /** Concurrent downloads: enough that one slow registry answer does not hold up other tenants. */
    static final int FETCH_THREADS = 4;

    private final ExecutorService loader;
    private final ExecutorService fetcher;

    public AdapterRuntime(LoadedModel model, AdapterSlots.Settings settings, int hostCapacity, AdapterSource source,
            AdapterCache.EvictionListener evictions) {
        this.loader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "chorus-adapter-loader");
            t.setDaemon(true);
            return t;
        });
        AtomicInteger fetchers = new AtomicInteger();
        this.fetcher = Executors.newFixedThreadPool(FETCH_THREADS, r -> {
            Thread t = new Thread(r, "chorus-adapter-fetch-" + fetchers.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.slots = new AdapterSlots(model.config(), settings, model.manager());
        try {
            this.cache = new AdapterCache(settings.maxAdapters(), hostCapacity, slots, source, loader, fetcher, evictions);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Residency of every adapter version; engine thread only. */
    public AdapterCache cache() {
        return cache;
    }

    /** Told, on the engine thread, how long each cold load took from the source to a usable slot. */
    public void onLoadLatency(ObjLongConsumer<AdapterKey> observer) {
        cache.onLoadLatency(observer);
    }

    public int maxAdapters() {
        return slots.settings().maxAdapters();
    }

    public RowAdapters forRows(int[] rowSlots) {
        return slots.forRows(rowSlots);
    }

    @Override
    public void close() {
        loader.shutdownNow();
        fetcher.shutdownNow();
        slots.close();
    }
}
