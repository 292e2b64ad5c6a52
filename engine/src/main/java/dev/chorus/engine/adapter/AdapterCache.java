package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterResidency.Device;
import dev.chorus.engine.adapter.AdapterResidency.Failed;
import dev.chorus.engine.adapter.AdapterResidency.Host;
import dev.chorus.engine.adapter.AdapterResidency.Loading;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.ObjLongConsumer;

/**
 * Adapter residency, the one owner of it: each adapter version has one {@link AdapterResidency}
 * (loading, host, device, failed). The device tier is the slots (max-loras) the batch can use; the
 * host tier (max-cpu-loras) holds every parsed adapter, those in slots included; both evict the least
 * recently used. An adapter pinned by running requests is never evicted. Loads run on the loader
 * executor and their results come back through {@link #loaded} on the engine thread, the only
 * thread that calls this class; every mutation re-checks the invariants.
 */
public final class AdapterCache {
    /** Called when an adapter leaves a tier. */
    public interface EvictionListener {
        void onEvict(AdapterKey key, Tier tier);
    }

    public enum Tier { DEVICE, HOST }

    public record Stats(long hits, long misses, long evictions, int deviceResident, int hostResident, int pinned) {
        public static final Stats NONE = new Stats(0, 0, 0, 0, 0, 0);
    }

    /** Where device residency is materialised: AdapterSlots in the engine, a recorder in tests. */
    public interface SlotWriter {
        void load(int slot, Adapter adapter);

        void clear(int slot);
    }

    /** The outcome of one background load: the adapter, or the error (exactly one is non-null). */
    public record LoadResult(AdapterKey key, Adapter adapter, EngineException error) {
        public LoadResult {
            if ((adapter == null) == (error == null)) {
                throw new IllegalArgumentException("a load yields an adapter or an error");
            }
        }
    }

    /** An acquire that cannot pin yet: the adapter is loading or every slot is pinned. */
    public static final int WAIT = -1;

    private final int deviceSlots;
    private final int hostCapacity;
    private final SlotWriter slots;
    private final AdapterSource source;
    private final Executor loader; // loads from local storage
    private final Executor fetcher; // loads that download first
    private final EvictionListener listener;
    // Insertion order kept as recency order: touch() moves an entry to the end, so iteration starts at
    // the least recently used. Pin changes do not count as use.
    private final LinkedHashMap<AdapterKey, AdapterResidency> states = new LinkedHashMap<>();
    private final AdapterKey[] slotOwner; // [deviceSlots + 1]; slot 0 is the zero adapter, never owned
    private volatile Consumer<LoadResult> deliver = r -> { };
    private ObjLongConsumer<AdapterKey> loadLatency = (key, nanos) -> { };
    private long hits;
    private long misses;
    private long evictions;

    /**
     * @param loader runs {@code source} loads off the engine thread; each result goes to the consumer
     *     set by {@link #onLoadFinished}, which must hand it back to the engine thread
     */
    public AdapterCache(int deviceSlots, int hostCapacity, SlotWriter slots, AdapterSource source, Executor loader,
            EvictionListener listener) {
        this(deviceSlots, hostCapacity, slots, source, loader, loader, listener);
    }

    /**
     * As above, with loads that must download first ({@link AdapterSource#local} false) on {@code fetcher},
     * so an adapter already on local storage never waits behind a slow or failing download.
     */
    public AdapterCache(int deviceSlots, int hostCapacity, SlotWriter slots, AdapterSource source, Executor loader, Executor fetcher,
            EvictionListener listener) {
        if (deviceSlots < 1 || hostCapacity < deviceSlots) {
            throw new IllegalArgumentException("need at least one device slot and a host tier at least as large (max-cpu-loras "
                    + hostCapacity + " < max-loras " + deviceSlots + ")");
        }
        this.deviceSlots = deviceSlots;
        this.hostCapacity = hostCapacity;
        this.slots = slots;
        this.source = source;
        this.loader = loader;
        this.fetcher = fetcher;
        this.listener = listener;
        this.slotOwner = new AdapterKey[deviceSlots + 1];
    }

    /** Where finished loads go; called on a loader thread, so it should only enqueue. */
    public void onLoadFinished(Consumer<LoadResult> consumer) {
        this.deliver = consumer;
    }

    /** Told how long each cold load took: from asking the source to its first upload into a slot. */
    public void onLoadLatency(ObjLongConsumer<AdapterKey> observer) {
        this.loadLatency = observer;
    }

    /** The adapter's state; empty when the cache knows nothing of it. */
    public Optional<AdapterResidency> state(AdapterKey key) {
        return Optional.ofNullable(states.get(key));
    }

    public boolean onHost(AdapterKey key) {
        return states.get(key) instanceof Host || onDevice(key);
    }

    public boolean onDevice(AdapterKey key) {
        return states.get(key) instanceof Device;
    }

    /**
     * Pins {@code key} in a device slot for one request and returns the slot; {@link #WAIT} while it
     * loads (a load is started if none runs, also after a failure) or while every slot is pinned.
     * An adapter the slots reject is left Failed and its error thrown.
     */
    public int acquire(AdapterKey key) {
        AdapterResidency state = states.get(key);
        if (state instanceof Device d) {
            hits++;
            touch(key, new Device(d.adapter(), d.slot(), d.pins() + 1, false)); // wanted again: no longer retiring
            checkInvariants();
            return d.slot();
        }
        if (state instanceof Host h) {
            int slot = freeSlot();
            if (slot != WAIT) {
                upload(key, h, slot);
            }
            checkInvariants();
            return slot;
        }
        if (state == null || state instanceof Failed) {
            startLoad(key);
        }
        return WAIT;
    }

    /** One request on {@code key} finished; the adapter stays resident (unless retiring) but may be evicted once unpinned. */
    public void release(AdapterKey key) {
        if (!(states.get(key) instanceof Device d) || d.pins() == 0) {
            throw new IllegalStateException("release of " + key + " which is not pinned");
        }
        if (d.pins() == 1 && d.retiring()) {
            drop(key);
        } else {
            states.put(key, d.withPins(d.pins() - 1));
        }
        checkInvariants();
    }

    /** Starts loading {@code key} into the host tier unless it is already there or on its way. */
    public void prefetch(AdapterKey key) {
        AdapterResidency state = states.get(key);
        if (state == null || state instanceof Failed) {
            try {
                startLoad(key);
            } catch (EngineException e) {
                // shutting down: a prefetch is only a hint, and the state now says Failed
            }
        }
    }

    /**
     * Applies a finished load (engine thread): the adapter enters the host tier, or its state becomes
     * Failed. A result nobody waits for any more (evicted meanwhile) is dropped. Returns the new state.
     */
    public Optional<AdapterResidency> loaded(LoadResult result) {
        AdapterKey key = result.key();
        if (!(states.get(key) instanceof Loading loading)) {
            return state(key);
        }
        if (result.error() != null) {
            touch(key, new Failed(result.error()));
            forgetOldFailures();
        } else {
            touch(key, new Host(result.adapter(), Math.max(0, System.nanoTime() - loading.started())));
            trimHost();
        }
        checkInvariants();
        return state(key);
    }

    /**
     * Drops a version from both tiers (a deleted or superseded one). Returns false when requests still
     * use it: it is then retiring and goes when the last of them releases it.
     */
    public boolean evict(AdapterKey key) {
        AdapterResidency state = states.get(key);
        if (state instanceof Device d && d.pins() > 0) {
            states.put(key, new Device(d.adapter(), d.slot(), d.pins(), true));
            checkInvariants();
            return false;
        }
        if (state != null) {
            drop(key);
        }
        checkInvariants();
        return true;
    }

    public Stats stats() {
        int device = 0;
        int host = 0;
        int pinned = 0;
        for (AdapterResidency s : states.values()) {
            if (s instanceof Device d) {
                device++;
                pinned += d.pins() > 0 ? 1 : 0;
            } else if (s instanceof Host) {
                host++;
            }
        }
        return new Stats(hits, misses, evictions, device, host + device, pinned);
    }

    /** Marks {@code key} Loading and hands the load to the loader; throws when the loader is shut down. */
    private void startLoad(AdapterKey key) {
        touch(key, new Loading(System.nanoTime()));
        try {
            (source.local(key) ? loader : fetcher).execute(() -> deliver.accept(load(key)));
        } catch (RejectedExecutionException e) {
            EngineException error = new EngineException("adapter loading has shut down", e);
            touch(key, new Failed(error));
            forgetOldFailures();
            checkInvariants();
            throw error;
        }
        checkInvariants();
    }

    /** Runs on the loader: the source reads and validates; anything it throws becomes the result's error. */
    private LoadResult load(AdapterKey key) {
        try {
            return new LoadResult(key, source.load(key), null);
        } catch (EngineException e) {
            return new LoadResult(key, null, e);
        } catch (RuntimeException | Error e) {
            return new LoadResult(key, null, new AdapterFormatException(key + ": " + e.getMessage(), e));
        }
    }

    private void upload(AdapterKey key, Host h, int slot) {
        long started = System.nanoTime();
        try {
            slots.load(slot, h.adapter());
        } catch (RuntimeException e) {
            slots.clear(slot); // nothing half-loaded stays in the slot
            EngineException error = e instanceof EngineException ee ? ee : new AdapterFormatException(key + ": " + e.getMessage(), e);
            states.put(key, new Failed(error));
            forgetOldFailures();
            checkInvariants();
            throw error;
        }
        misses++;
        slotOwner[slot] = key;
        touch(key, new Device(h.adapter(), slot, 1, false));
        if (h.loadNanos() >= 0) {
            loadLatency.accept(key, h.loadNanos() + System.nanoTime() - started);
        }
    }

    /** A free slot, demoting the least recently used unpinned adapter to the host tier if needed; WAIT when all are pinned. */
    private int freeSlot() {
        for (int s = 1; s <= deviceSlots; s++) {
            if (slotOwner[s] == null) {
                return s;
            }
        }
        for (Map.Entry<AdapterKey, AdapterResidency> e : states.entrySet()) {
            if (e.getValue() instanceof Device d && d.pins() == 0) {
                slots.clear(d.slot());
                slotOwner[d.slot()] = null;
                e.setValue(new Host(d.adapter(), -1));
                evicted(e.getKey(), Tier.DEVICE);
                return d.slot();
            }
        }
        return WAIT;
    }

    /** Keeps the host tier within capacity by dropping the least recently used adapters not in a slot. */
    private void trimHost() {
        int resident = stats().hostResident();
        for (Iterator<Map.Entry<AdapterKey, AdapterResidency>> it = states.entrySet().iterator(); resident > hostCapacity && it.hasNext(); ) {
            Map.Entry<AdapterKey, AdapterResidency> e = it.next();
            if (e.getValue() instanceof Host) {
                it.remove();
                evicted(e.getKey(), Tier.HOST);
                resident--;
            }
        }
    }

    /** Failures are kept so waiting requests can be told; only the most recent ones, one per host entry. */
    private void forgetOldFailures() {
        long failed = states.values().stream().filter(s -> s instanceof Failed).count();
        for (Iterator<AdapterResidency> it = states.values().iterator(); failed > hostCapacity && it.hasNext(); ) {
            if (it.next() instanceof Failed) {
                it.remove();
                failed--;
            }
        }
    }

    private void drop(AdapterKey key) {
        AdapterResidency state = states.remove(key);
        if (state instanceof Device d) {
            slots.clear(d.slot());
            slotOwner[d.slot()] = null;
            evicted(key, Tier.DEVICE);
        }
        if (state instanceof Device || state instanceof Host) {
            evicted(key, Tier.HOST);
        }
    }

    private void touch(AdapterKey key, AdapterResidency state) {
        states.remove(key);
        states.put(key, state);
    }

    private void evicted(AdapterKey key, Tier tier) {
        evictions++;
        if (listener != null) {
            listener.onEvict(key, tier);
        }
    }

    /**
     * Tiers within capacity; each slot in 1..deviceSlots owned by exactly the adapter whose Device
     * state names it; retiring adapters are pinned; failures bounded.
     */
    public void checkInvariants() {
        int device = 0;
        int host = 0;
        int failed = 0;
        Set<Integer> used = new HashSet<>();
        for (Map.Entry<AdapterKey, AdapterResidency> e : states.entrySet()) {
            AdapterResidency s = e.getValue();
            if (s instanceof Device d) {
                device++;
                if (d.slot() > deviceSlots || !used.add(d.slot()) || !e.getKey().equals(slotOwner[d.slot()])) {
                    throw new IllegalStateException("adapter " + e.getKey() + " in slot " + d.slot() + " which it does not own alone");
                }
            } else if (s instanceof Host) {
                host++;
            } else if (s instanceof Failed) {
                failed++;
            }
        }
        for (int slot = 1; slot <= deviceSlots; slot++) {
            if (slotOwner[slot] != null && !used.contains(slot)) {
                throw new IllegalStateException("slot " + slot + " owned by " + slotOwner[slot] + " which is not on the device there");
            }
        }
        if (slotOwner[0] != null || device > deviceSlots || device + host > hostCapacity || failed > hostCapacity) {
            throw new IllegalStateException("adapter cache over capacity: device " + device + "/" + deviceSlots + ", host " + (host + device)
                    + "/" + hostCapacity + ", failed " + failed);
        }
    }
}
