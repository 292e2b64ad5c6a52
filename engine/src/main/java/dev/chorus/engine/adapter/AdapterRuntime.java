package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.ObjLongConsumer;

/**
 * What the engine loop needs to serve adapters: device slots, the residency cache, and loading of
 * adapter files on a background thread, so a request whose adapter is not resident waits while
 * the others keep decoding. All methods except close() are for the engine thread only.
 */
public final class AdapterRuntime implements AutoCloseable {
    private final AdapterSlots slots;
    private final AdapterCache cache;
    private final AdapterSource source;
    private final ExecutorService loader;
    private final Map<AdapterKey, CompletableFuture<Adapter>> loading = new HashMap<>();
    private final Map<AdapterKey, Long> loadStarted = new HashMap<>(); // nanoTime, until the adapter is in a slot
    private Runnable wake = () -> { };
    private ObjLongConsumer<AdapterKey> loadLatency = (key, nanos) -> { };

    public AdapterRuntime(LoadedModel model, AdapterSlots.Settings settings, int hostCapacity, AdapterSource source,
            AdapterCache.EvictionListener evictions) {
        this.slots = new AdapterSlots(model.config(), settings, model.manager());
        this.cache = new AdapterCache(settings.maxAdapters(), hostCapacity, slots, evictions);
        this.source = source;
        this.loader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "chorus-adapter-loader");
            t.setDaemon(true);
            return t;
        });
    }

    /** How the loop is woken when a background load finishes. */
    public void onLoaded(Runnable wakeEngine) {
        this.wake = wakeEngine;
    }

    /** Told, on the engine thread, how long each cold load took from the source to a usable slot. */
    public void onLoadLatency(ObjLongConsumer<AdapterKey> observer) {
        this.loadLatency = observer;
    }

    /**
     * The device slot of {@code key}, pinned for one request, or −1 while it loads or all slots are
     * pinned. A failed load is thrown once to each request waiting for it, then forgotten (a later
     * request tries again).
     */
    public int tryAcquire(AdapterKey key) {
        if (!cache.onDevice(key) && !cache.onHost(key)) {
            CompletableFuture<Adapter> f = loading.computeIfAbsent(key, k -> {
                loadStarted.put(k, System.nanoTime());
                CompletableFuture<Adapter> load = CompletableFuture.supplyAsync(() -> source.load(k), loader);
                load.whenComplete((a, e) -> wake.run());
                return load;
            });
            if (!f.isDone()) {
                return -1;
            }
            try {
                cache.offerHost(key, f.join());
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                loadStarted.remove(key);
                throw cause instanceof EngineException ee ? ee : new AdapterFormatException(key + ": " + cause.getMessage(), cause);
            } finally {
                loading.remove(key);
            }
        }
        int slot = cache.acquire(key, k -> {
            throw new IllegalStateException(k + " should be on the host tier");
        });
        Long started = slot > 0 ? loadStarted.remove(key) : null;
        if (started != null) {
            loadLatency.accept(key, System.nanoTime() - started);
        }
        return slot;
    }

    public void release(AdapterKey key) {
        cache.release(key);
    }

    /** Drops a version nobody uses any more (superseded or deleted); false while requests still use it. */
    public boolean invalidate(AdapterKey key) {
        return cache.invalidate(key);
    }

    public AdapterCache.Stats stats() {
        return cache.stats();
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
        slots.close();
    }
}
