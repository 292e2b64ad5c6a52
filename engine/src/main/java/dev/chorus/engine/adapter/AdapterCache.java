package dev.chorus.engine.adapter;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Adapter residency, the one owner of it: a device tier of slots (max-loras, holding the adapters
 * the batch can use) and a host tier (max-cpu-loras, parsed adapters ready to upload), each LRU.
 * An adapter used by running requests is pinned in its slot and never evicted. Only the engine
 * thread calls it; every mutation re-checks the invariants.
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

    private final int deviceSlots;
    private final int hostCapacity;
    private final SlotWriter slots;
    private final EvictionListener listener;
    // Access-ordered maps: iteration starts at the least recently used entry.
    private final LinkedHashMap<AdapterKey, Integer> device = new LinkedHashMap<>(16, 0.75f, true);
    private final LinkedHashMap<AdapterKey, Adapter> host = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<AdapterKey, Integer> pins = new HashMap<>();
    private long hits;
    private long misses;
    private long evictions;

    /** Where device residency is materialised: AdapterSlots in the engine, a recorder in tests. */
    public interface SlotWriter {
        void load(int slot, Adapter adapter);

        void clear(int slot);
    }

    public AdapterCache(int deviceSlots, int hostCapacity, SlotWriter slots, EvictionListener listener) {
        if (deviceSlots < 1 || hostCapacity < 1) {
            throw new IllegalArgumentException("need at least one device slot and one host entry");
        }
        this.deviceSlots = deviceSlots;
        this.hostCapacity = hostCapacity;
        this.slots = slots;
        this.listener = listener;
    }

    /** Puts a parsed adapter into the host tier (evicting the least recently used unpinned one if full). */
    public void offerHost(AdapterKey key, Adapter adapter) {
        host.put(key, adapter);
        while (host.size() > hostCapacity) {
            AdapterKey victim = host.keySet().iterator().next();
            host.remove(victim);
            evicted(victim, Tier.HOST);
        }
        checkInvariants();
    }

    public boolean onHost(AdapterKey key) {
        return host.containsKey(key);
    }

    public boolean onDevice(AdapterKey key) {
        return device.containsKey(key);
    }

    /**
     * Pins {@code key} in a device slot and returns the slot, uploading it from the host tier (or
     * {@code load}, e.g. the file) when needed. Returns −1 when every slot is pinned: the caller
     * waits while others keep decoding. A failing load throws and leaves nothing half-loaded.
     */
    public int acquire(AdapterKey key, Function<AdapterKey, Adapter> load) {
        Integer slot = device.get(key);
        if (slot != null) {
            hits++;
        } else {
            slot = freeSlot();
            if (slot < 0) {
                return -1; // not a miss yet: the caller asks again once a slot is unpinned
            }
            misses++;
            Adapter adapter = host.get(key);
            if (adapter == null) {
                adapter = load.apply(key);
                offerHost(key, adapter);
            }
            slots.load(slot, adapter);
            device.put(key, slot);
        }
        pins.merge(key, 1, Integer::sum);
        checkInvariants();
        return slot;
    }

    /** One request on {@code key} finished; the adapter stays resident but may be evicted once unpinned. */
    public void release(AdapterKey key) {
        Integer n = pins.get(key);
        if (n == null) {
            throw new IllegalStateException("release of " + key + " which is not pinned");
        }
        if (n == 1) {
            pins.remove(key);
        } else {
            pins.put(key, n - 1);
        }
        checkInvariants();
    }

    /** Drops an adapter from both tiers when nothing uses it (a deleted or superseded version). */
    public boolean invalidate(AdapterKey key) {
        if (pins.containsKey(key)) {
            return false;
        }
        Integer slot = device.remove(key);
        if (slot != null) {
            slots.clear(slot);
            evicted(key, Tier.DEVICE);
        }
        if (host.remove(key) != null) {
            evicted(key, Tier.HOST);
        }
        checkInvariants();
        return true;
    }

    public Stats stats() {
        return new Stats(hits, misses, evictions, device.size(), host.size(), pins.size());
    }

    /** A free slot, evicting the least recently used unpinned adapter if needed; −1 when all are pinned. */
    private int freeSlot() {
        if (device.size() < deviceSlots) {
            boolean[] used = new boolean[deviceSlots + 1];
            device.values().forEach(s -> used[s] = true);
            for (int s = 1; s <= deviceSlots; s++) {
                if (!used[s]) {
                    return s;
                }
            }
        }
        for (Iterator<Map.Entry<AdapterKey, Integer>> it = device.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<AdapterKey, Integer> e = it.next();
            if (!pins.containsKey(e.getKey())) {
                it.remove();
                slots.clear(e.getValue());
                evicted(e.getKey(), Tier.DEVICE);
                return e.getValue();
            }
        }
        return -1;
    }

    private void evicted(AdapterKey key, Tier tier) {
        evictions++;
        if (listener != null) {
            listener.onEvict(key, tier);
        }
    }

    /** Capacity bounds, distinct slots in 1..deviceSlots, pinned ⇒ on device. */
    void checkInvariants() {
        if (device.size() > deviceSlots || host.size() > hostCapacity) {
            throw new IllegalStateException("adapter cache over capacity: device " + device.size() + "/" + deviceSlots + ", host "
                    + host.size() + "/" + hostCapacity);
        }
        if (device.values().stream().distinct().count() != device.size()
                || device.values().stream().anyMatch(s -> s < 1 || s > deviceSlots)) {
            throw new IllegalStateException("adapter slots are not distinct or out of range: " + device);
        }
        for (AdapterKey pinned : pins.keySet()) {
            if (!device.containsKey(pinned)) {
                throw new IllegalStateException("pinned adapter " + pinned + " is not on the device");
            }
        }
    }
}
