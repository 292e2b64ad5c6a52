package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class AdapterCacheTest {
    /** Records what the device holds, slot by slot. */
    static final class RecordingSlots implements AdapterCache.SlotWriter {
        final Map<Integer, Adapter> slots = new HashMap<>();

        @Override
        public void load(int slot, Adapter adapter) {
            slots.put(slot, adapter);
        }

        @Override
        public void clear(int slot) {
            slots.remove(slot);
        }
    }

    static final Map<AdapterKey, Adapter> FILES = new HashMap<>();

    static AdapterKey key(String name) {
        return new AdapterKey("t1", name, 1);
    }

    static Adapter adapter(AdapterKey k) {
        return FILES.computeIfAbsent(k, x -> new Adapter(new AdapterConfig(new ChannelScale(1f), Set.of(Projection.Q), null), Map.of()));
    }

    final RecordingSlots device = new RecordingSlots();
    final List<String> evicted = new ArrayList<>();
    final AdapterCache cache = new AdapterCache(2, 3, device, (k, tier) -> evicted.add(tier + ":" + k.name()));
    final Function<AdapterKey, Adapter> load = AdapterCacheTest::adapter;

    @Test
    void leastRecentlyUsedUnpinnedAdapterLeavesTheDeviceFirst() {
        int a = cache.acquire(key("a"), load);
        int b = cache.acquire(key("b"), load);
        assertTrue(a >= 1 && b >= 1 && a != b);
        cache.release(key("a"));
        cache.release(key("b"));
        cache.acquire(key("a"), load); // a is now the most recent
        cache.release(key("a"));
        int c = cache.acquire(key("c"), load);
        assertEquals(b, c, "c takes b's slot: b was least recently used");
        assertEquals(List.of("DEVICE:b"), evicted);
        assertTrue(cache.onDevice(key("a")) && cache.onDevice(key("c")) && !cache.onDevice(key("b")));
        assertTrue(cache.onHost(key("b")), "b stays parsed on the host tier");
        assertEquals(adapter(key("c")), device.slots.get(c));
    }

    @Test
    void pinnedAdaptersAreNeverEvictedAndAFullDeviceMakesCallersWait() {
        cache.acquire(key("a"), load);
        cache.acquire(key("b"), load);
        assertEquals(-1, cache.acquire(key("c"), load), "both slots pinned: wait");
        assertTrue(cache.onDevice(key("a")) && cache.onDevice(key("b")));
        cache.release(key("b"));
        int c = cache.acquire(key("c"), load);
        assertTrue(c >= 1);
        assertFalse(cache.onDevice(key("b")));
        assertThrows(IllegalStateException.class, () -> cache.release(key("b")), "b is not pinned any more");
    }

    @Test
    void hitsMissesAndHostTierUnderPressure() {
        for (String n : List.of("a", "b", "c", "d")) {
            cache.acquire(key(n), load);
            cache.release(key(n));
        }
        cache.acquire(key("d"), load);
        AdapterCache.Stats s = cache.stats();
        assertEquals(1, s.hits());
        assertEquals(4, s.misses());
        assertEquals(2, s.deviceResident());
        assertEquals(3, s.hostResident(), "host tier capped at 3");
        assertTrue(evicted.contains("HOST:a"), "oldest host entry evicted: " + evicted);
    }

    @Test
    void aFailingLoadLeavesNoHalfLoadedAdapter() {
        assertThrows(AdapterFormatException.class, () -> cache.acquire(key("bad"), k -> {
            throw new AdapterFormatException("corrupt file");
        }));
        assertFalse(cache.onDevice(key("bad")) || cache.onHost(key("bad")));
        assertTrue(cache.acquire(key("good"), load) >= 1, "other adapters still load");
    }

    @Test
    void invalidateDropsOnlyUnusedVersions() {
        cache.acquire(key("a"), load);
        assertFalse(cache.invalidate(key("a")), "in use");
        cache.release(key("a"));
        assertTrue(cache.invalidate(key("a")));
        assertFalse(cache.onDevice(key("a")) || cache.onHost(key("a")));
        assertTrue(device.slots.isEmpty(), "the slot was cleared");
    }

    @Test
    void randomWorkloadKeepsTheInvariants() {
        SplittableRandom rnd = new SplittableRandom(4);
        Map<AdapterKey, Integer> held = new HashMap<>();
        for (int i = 0; i < 5000; i++) {
            AdapterKey k = key("k" + rnd.nextInt(8));
            if (rnd.nextBoolean() && held.getOrDefault(k, 0) > 0) {
                cache.release(k);
                held.merge(k, -1, Integer::sum);
            } else if (cache.acquire(k, load) >= 1) {
                held.merge(k, 1, Integer::sum);
            } else {
                assertEquals(2, held.values().stream().filter(n -> n > 0).count(), "waits only when both slots are pinned");
            }
            cache.checkInvariants();
            assertTrue(device.slots.size() <= 2);
        }
    }
}
