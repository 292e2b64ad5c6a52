package dev.chorus.engine.merged;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The one owner of merged variants' residency: loading (built on a loader thread), resident (pinned
 * by the requests running on it, least recently used first out), retiring (dropped while pinned:
 * no new requests, freed when the last one finishes) and failed. At most {@code maxModels} variants
 * are loading or resident, and resident ones add at most {@code maxBytes}. Engine thread only,
 * except the builder, which runs on the loader thread and posts its result back.
 */
public final class VariantResidency implements AutoCloseable {

    /** A finished build, handed back to the engine thread through {@link #loaded}. */
    public record LoadResult(AdapterKey key, MergedVariant variant, EngineException error) {
    }

    /** Told on the engine thread whenever a variant arrives or leaves. */
    public interface Listener {
        void resident(AdapterKey key, long bytes);

        /** {@code lru}: pushed out by the budget rather than dropped. */
        void released(AdapterKey key, boolean lru);

        void failed(AdapterKey key, EngineException error);
    }

    public record Stats(int resident, int loading, long bytes) {
        public static final Stats NONE = new Stats(0, 0, 0);
    }

    private sealed interface State permits Loading, Resident, Failed {
    }

    private record Loading() implements State {
    }

    private static final class Resident implements State {
        final MergedVariant variant;
        int pins;
        long lastUse;
        boolean retiring;

        Resident(MergedVariant variant, long lastUse) {
            this.variant = variant;
            this.lastUse = lastUse;
        }
    }

    private record Failed(EngineException error) implements State {
    }

    private final int maxModels;
    private final long maxBytes;
    private final Function<AdapterKey, MergedVariant> builder;
    private final Consumer<LoadResult> onLoaded;
    private final Listener listener;
    private final ExecutorService loader;
    private final Map<AdapterKey, State> states = new HashMap<>();
    private long uses;
    private boolean closed;

    public VariantResidency(int maxModels, long maxBytes, Function<AdapterKey, MergedVariant> builder, Consumer<LoadResult> onLoaded,
            Listener listener) {
        this.maxModels = maxModels;
        this.maxBytes = maxBytes;
        this.builder = builder;
        this.onLoaded = onLoaded;
        this.listener = listener;
        this.loader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "chorus-variant-loader");
            t.setDaemon(true);
            return t;
        });
    }

    /** The resident, not retiring variant of {@code key}, pinned for one more request; empty otherwise. */
    public Optional<MergedVariant> acquire(AdapterKey key) {
        if (states.get(key) instanceof Resident r && !r.retiring) {
            r.pins++;
            r.lastUse = ++uses;
            return Optional.of(r.variant);
        }
        return Optional.empty();
    }

    /** A request running on {@code variant} finished; a retiring variant goes with its last request. */
    public void release(MergedVariant variant) {
        if (states.get(variant.key()) instanceof Resident r && r.variant == variant) {
            r.pins--;
            if (r.pins < 0) {
                throw new IllegalStateException("variant " + variant.key() + " released more often than acquired");
            }
            if (r.retiring && r.pins == 0) {
                remove(variant.key(), r, false);
            }
        }
    }

    /**
     * Asks for {@code key}'s variant: starts its build when there is room (evicting the least recently
     * used unpinned variant if need be). True while it is loading or resident; false when it failed or
     * no room can be made now (every variant pinned), so the caller asks again later.
     */
    public boolean request(AdapterKey key) {
        State s = states.get(key);
        if (s instanceof Resident r) {
            r.retiring = false;
            return true;
        }
        if (s instanceof Loading) {
            return true;
        }
        if (s instanceof Failed || closed || maxModels == 0) {
            return false;
        }
        while (states.values().stream().filter(v -> !(v instanceof Failed)).count() >= maxModels) {
            if (!evictLeastRecentlyUsed()) {
                return false;
            }
        }
        states.put(key, new Loading());
        try {
            loader.execute(() -> onLoaded.accept(build(key)));
        } catch (RejectedExecutionException e) {
            states.remove(key);
            return false;
        }
        return true;
    }

    private LoadResult build(AdapterKey key) {
        try {
            return new LoadResult(key, builder.apply(key), null);
        } catch (EngineException e) {
            return new LoadResult(key, null, e);
        } catch (RuntimeException e) {
            return new LoadResult(key, null, new EngineException("cannot build the merged model of " + key + ": " + e.getMessage(), e));
        }
    }

    /** Installs a finished build (engine thread), within the byte budget; a build nobody waits for any more is freed. */
    public void loaded(LoadResult result) {
        AdapterKey key = result.key();
        if (closed || !(states.get(key) instanceof Loading)) {
            if (result.variant() != null) {
                result.variant().close();
            }
            return;
        }
        if (result.error() != null) {
            states.put(key, new Failed(result.error()));
            listener.failed(key, result.error());
            return;
        }
        MergedVariant v = result.variant();
        if (v.bytes() > maxBytes) {
            v.close();
            EngineException error = new EngineException("the merged model of " + key + " needs " + v.bytes() + " bytes, more than max-bytes "
                    + maxBytes);
            states.put(key, new Failed(error));
            listener.failed(key, error);
            return;
        }
        while (bytes() + v.bytes() > maxBytes) {
            if (!evictLeastRecentlyUsed()) {
                v.close(); // every other variant is in use: the next request asks again
                states.remove(key);
                return;
            }
        }
        states.put(key, new Resident(v, ++uses));
        listener.resident(key, v.bytes());
    }

    /** No new requests for {@code key}'s variant: freed now if unused, else when its last request finishes; a failure is forgotten. */
    public void drop(AdapterKey key) {
        State s = states.get(key);
        if (s instanceof Resident r) {
            if (r.pins == 0) {
                remove(key, r, false);
            } else {
                r.retiring = true;
            }
        } else if (s != null) {
            states.remove(key); // a build still running is freed when it arrives
        }
    }

    public boolean resident(AdapterKey key) {
        return states.get(key) instanceof Resident r && !r.retiring;
    }

    public boolean loading(AdapterKey key) {
        return states.get(key) instanceof Loading;
    }

    public Optional<EngineException> failure(AdapterKey key) {
        return states.get(key) instanceof Failed f ? Optional.of(f.error()) : Optional.empty();
    }

    /** Keys of resident or loading variants (retiring ones included). */
    public List<AdapterKey> keys() {
        List<AdapterKey> out = new ArrayList<>();
        states.forEach((k, s) -> {
            if (!(s instanceof Failed)) {
                out.add(k);
            }
        });
        return out;
    }

    public long bytes() {
        return states.values().stream().mapToLong(s -> s instanceof Resident r ? r.variant.bytes() : 0).sum();
    }

    public Stats stats() {
        int resident = 0;
        int loading = 0;
        for (State s : states.values()) {
            resident += s instanceof Resident ? 1 : 0;
            loading += s instanceof Loading ? 1 : 0;
        }
        return new Stats(resident, loading, bytes());
    }

    private boolean evictLeastRecentlyUsed() {
        Resident victim = null;
        AdapterKey victimKey = null;
        for (var e : states.entrySet()) {
            if (e.getValue() instanceof Resident r && r.pins == 0 && (victim == null || rank(r) < rank(victim))) {
                victim = r;
                victimKey = e.getKey();
            }
        }
        if (victim == null) {
            return false;
        }
        remove(victimKey, victim, !victim.retiring);
        return true;
    }

    /** Retiring variants go first, then by last use. */
    private static long rank(Resident r) {
        return r.retiring ? Long.MIN_VALUE + r.lastUse : r.lastUse;
    }

    private void remove(AdapterKey key, Resident r, boolean lru) {
        states.remove(key);
        r.variant.close();
        listener.released(key, lru);
    }

    /** Frees every variant; builds still running are freed as they arrive. */
    @Override
    public void close() {
        closed = true;
        loader.shutdownNow();
        for (State s : states.values()) {
            if (s instanceof Resident r) {
                r.variant.close();
            }
        }
        states.clear();
    }
}
