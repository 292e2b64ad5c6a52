package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterResidency.Device;
import dev.chorus.engine.adapter.AdapterResidency.Failed;
import dev.chorus.engine.adapter.AdapterResidency.Host;
import dev.chorus.engine.adapter.AdapterResidency.Loading;
import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The residency state machine, driven the way the engine drives it: loads queue on a loader the test
 * runs by hand, and their results are applied as the engine thread would. The invariants are checked
 * after every operation.
 */
class AdapterCacheTest {
    /** Records what the device holds, slot by slot; rejects the adapters in {@code rejected}, like slots refusing a rank. */
    static final class RecordingSlots implements AdapterCache.SlotWriter {
        final Map<Integer, Adapter> slots = new HashMap<>();
        final Set<Adapter> rejected = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()); // adapters are records: equal by value

        @Override
        public void load(int slot, Adapter adapter) {
            slots.put(slot, adapter); // written, then refused: the cache must clear it
            if (rejected.contains(adapter)) {
                throw new AdapterFormatException("adapter rank exceeds the slot rank");
            }
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

    static synchronized Adapter adapter(AdapterKey k) {
        return FILES.computeIfAbsent(k, x -> new Adapter(new AdapterConfig(new ChannelScale(1f), Set.of(Projection.Q), null), Map.of()));
    }

    final RecordingSlots device = new RecordingSlots();
    final List<String> evicted = new ArrayList<>();
    final Map<AdapterKey, RuntimeException> broken = new HashMap<>();
    final List<AdapterKey> sourceReads = new ArrayList<>();
    final List<Runnable> loader = new ArrayList<>(); // loads handed to the loader, not yet run
    final List<AdapterCache.LoadResult> finished = new ArrayList<>(); // results posted back, not yet applied
    final List<AdapterKey> latencies = new ArrayList<>();
    final AdapterSource source = k -> {
        sourceReads.add(k);
        if (broken.containsKey(k)) {
            throw broken.get(k);
        }
        return adapter(k);
    };
    final AdapterCache cache = new AdapterCache(2, 3, device, source, loader::add, (k, tier) -> evicted.add(tier + ":" + k.name()));

    {
        cache.onLoadFinished(finished::add);
        cache.onLoadLatency((k, nanos) -> {
            assertTrue(nanos >= 0);
            latencies.add(k);
        });
    }

    @AfterEach
    void invariantsHold() {
        cache.checkInvariants();
        assertEquals(device.slots.size(), cache.stats().deviceResident(), "the slots hold exactly the device tier");
    }

    /** The loader runs what was handed to it, then the engine thread applies the results. */
    void finishLoads() {
        while (!loader.isEmpty()) {
            loader.remove(0).run();
        }
        for (AdapterCache.LoadResult r : finished) {
            cache.loaded(r);
            cache.checkInvariants();
        }
        finished.clear();
    }

    /** What a request sees across engine iterations: wait for a load it caused, then pin if a slot frees. */
    int acquire(AdapterKey k) {
        int slot = cache.acquire(k);
        cache.checkInvariants();
        if (slot == AdapterCache.WAIT && state(k) instanceof Loading) {
            finishLoads();
            if (state(k) instanceof Host) {
                slot = cache.acquire(k);
                cache.checkInvariants();
            }
        }
        return slot;
    }

    void release(AdapterKey k) {
        cache.release(k);
        cache.checkInvariants();
    }

    AdapterResidency state(AdapterKey k) {
        return cache.state(k).orElse(null);
    }

    @Test
    void anAdapterGoesFromLoadingToHostToDevice() {
        AdapterKey a = key("a");
        assertEquals(AdapterCache.WAIT, cache.acquire(a), "not resident: the request waits");
        assertInstanceOf(Loading.class, state(a));
        assertEquals(AdapterCache.WAIT, cache.acquire(a), "a second request waits on the same load");
        assertEquals(1, loader.size(), "one load per adapter, not per request");
        assertTrue(device.slots.isEmpty(), "nothing uploaded before the load is applied");
        assertTrue(sourceReads.isEmpty(), "nothing read on the engine thread");
        cache.checkInvariants();

        finishLoads();
        Host host = assertInstanceOf(Host.class, state(a));
        assertSame(adapter(a), host.adapter());
        assertTrue(host.loadNanos() >= 0);
        assertEquals(new AdapterCache.Stats(0, 0, 0, 0, 1, 0), cache.stats());

        int slot = cache.acquire(a);
        cache.checkInvariants();
        assertEquals(new Device(adapter(a), slot, 1, false), state(a));
        assertSame(adapter(a), device.slots.get(slot));
        assertEquals(List.of(a), latencies, "the cold load is timed once it is usable");
        assertEquals(slot, cache.acquire(a), "a hit pins it again");
        assertEquals(2, ((Device) state(a)).pins());
        release(a);
        release(a);
        assertEquals(new Device(adapter(a), slot, 0, false), state(a), "unpinned, still resident");
        assertEquals(slot, acquire(a));
        assertEquals(List.of(a), latencies, "warm acquisitions are not loads");
        assertEquals(new AdapterCache.Stats(2, 1, 0, 1, 1, 1), cache.stats());
        assertEquals(List.of(a), sourceReads);
    }

    @Test
    void prefetchLoadsIntoTheHostTierWithoutASlot() {
        cache.prefetch(key("a"));
        cache.prefetch(key("a"));
        assertEquals(1, loader.size());
        finishLoads();
        assertInstanceOf(Host.class, state(key("a")));
        assertTrue(device.slots.isEmpty());
        assertTrue(acquire(key("a")) >= 1);
        assertEquals(1, cache.stats().misses(), "the upload is the miss");
        assertEquals(List.of(key("a")), latencies, "a prefetched load is timed at its first upload");
        cache.prefetch(key("a")); // resident: nothing to do
        assertTrue(loader.isEmpty());
    }

    @Test
    void leastRecentlyUsedUnpinnedAdapterLeavesTheDeviceFirst() {
        int a = acquire(key("a"));
        int b = acquire(key("b"));
        assertTrue(a >= 1, "a in a real slot, not slot 0");
        assertTrue(b >= 1, "b in a real slot, not slot 0");
        assertNotEquals(a, b);
        release(key("a"));
        release(key("b"));
        acquire(key("a")); // a is now the most recent
        release(key("a"));
        int c = acquire(key("c"));
        assertEquals(b, c, "c takes b's slot: b was least recently used");
        assertEquals(List.of("DEVICE:b"), evicted);
        assertTrue(cache.onDevice(key("a")), "a stays on the device");
        assertTrue(cache.onDevice(key("c")), "c on the device");
        assertFalse(cache.onDevice(key("b")), "b left the device");
        assertTrue(cache.onHost(key("b")), "b stays parsed on the host tier");
        assertEquals(new Host(adapter(key("b")), -1), state(key("b")), "demoted; its load was reported already");
        assertSame(adapter(key("c")), device.slots.get(c));
    }

    @Test
    void pinnedAdaptersAreNeverEvictedAndAFullDeviceMakesCallersWait() {
        acquire(key("a"));
        acquire(key("b"));
        assertEquals(AdapterCache.WAIT, acquire(key("c")), "both slots pinned: wait");
        assertInstanceOf(Host.class, state(key("c")), "loaded meanwhile, ready for the next free slot");
        assertTrue(cache.onDevice(key("a")), "pinned a stays");
        assertTrue(cache.onDevice(key("b")), "pinned b stays");
        release(key("b"));
        int c = acquire(key("c"));
        assertTrue(c >= 1);
        assertFalse(cache.onDevice(key("b")));
        assertThrows(IllegalStateException.class, () -> cache.release(key("b")), "b is not pinned any more");
    }

    @Test
    void aPinnedAdapterSurvivesAnyPressureOnBothTiers() {
        int a = acquire(key("a"));
        for (int i = 0; i < 20; i++) {
            AdapterKey k = key("k" + i);
            assertTrue(acquire(k) >= 1, "the other slot keeps turning over");
            release(k);
            assertEquals(new Device(adapter(key("a")), a, 1, false), state(key("a")), "after " + k);
        }
        assertFalse(evicted.contains("DEVICE:a"), evicted.toString());
        assertFalse(evicted.contains("HOST:a"), evicted.toString());
        assertEquals(3, cache.stats().hostResident());
    }

    @Test
    void hitsMissesAndHostTierUnderPressure() {
        for (String n : List.of("a", "b", "c", "d")) {
            acquire(key(n));
            release(key(n));
        }
        acquire(key("d"));
        AdapterCache.Stats s = cache.stats();
        assertEquals(1, s.hits());
        assertEquals(4, s.misses());
        assertEquals(2, s.deviceResident());
        assertEquals(3, s.hostResident(), "host tier capped at 3");
        assertTrue(evicted.contains("HOST:a"), "oldest host entry evicted: " + evicted);
        assertEquals(List.of("DEVICE:a", "HOST:a", "DEVICE:b"), evicted, "eviction order");
        assertEquals(Optional.empty(), cache.state(key("a")), "evicted from the host tier: forgotten");
        assertEquals(3, s.evictions());
    }

    @Test
    void aFailingLoadLeavesNoHalfLoadedAdapterAndALaterRequestRetries() {
        AdapterKey bad = key("bad");
        broken.put(bad, new AdapterFormatException("corrupt file"));
        assertEquals(AdapterCache.WAIT, acquire(bad));
        Failed failed = assertInstanceOf(Failed.class, state(bad));
        assertInstanceOf(AdapterFormatException.class, failed.error());
        assertEquals("corrupt file", failed.error().getMessage());
        assertFalse(cache.onDevice(bad), "a failed adapter holds no slot");
        assertFalse(cache.onHost(bad), "a failed adapter is not on the host tier");
        assertTrue(device.slots.isEmpty());
        assertTrue(acquire(key("good")) >= 1, "other adapters still load");

        broken.clear(); // fixed, e.g. republished
        assertTrue(acquire(bad) >= 1, "a later request loads it again");
        assertEquals(List.of(bad, key("good"), bad), sourceReads);
    }

    @Test
    void aSourceBugBecomesAnAdapterFailureNotALostLoad() {
        broken.put(key("npe"), new NullPointerException("boom"));
        acquire(key("npe"));
        Failed failed = assertInstanceOf(Failed.class, state(key("npe")));
        assertInstanceOf(AdapterFormatException.class, failed.error());
        assertTrue(failed.error().getMessage().contains("boom"));
    }

    @Test
    void anAdapterTheSlotsRejectFailsWithoutHoldingASlot() {
        Adapter tooBig = adapter(key("big"));
        device.rejected.add(tooBig);
        cache.prefetch(key("big"));
        finishLoads();
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> cache.acquire(key("big")));
        assertSame(e, ((Failed) state(key("big"))).error());
        assertTrue(device.slots.isEmpty(), "the half-written slot was cleared");
        cache.checkInvariants();
        assertTrue(acquire(key("a")) >= 1, "a's slot still usable");
        assertTrue(acquire(key("b")) >= 1, "b's slot still usable");
        device.rejected.clear();
    }

    @Test
    void failuresAreRememberedOnlyBoundedly() {
        for (int i = 0; i < 10; i++) {
            broken.put(key("bad" + i), new AdapterFormatException("corrupt " + i));
            acquire(key("bad" + i));
        }
        long failed = java.util.stream.IntStream.range(0, 10).filter(i -> state(key("bad" + i)) instanceof Failed).count();
        assertEquals(3, failed, "one per host entry");
        assertInstanceOf(Failed.class, state(key("bad9")), "the newest are kept");
    }

    @Test
    void evictDropsUnusedVersionsAndRetiresPinnedOnes() {
        AdapterKey a = key("a");
        int slot = acquire(a);
        acquire(a);
        assertFalse(cache.evict(a), "in use");
        assertEquals(new Device(adapter(a), slot, 2, true), state(a), "retiring: requests running on it keep it");
        cache.checkInvariants();
        release(a);
        assertTrue(cache.onDevice(a), "one request still uses it");
        release(a);
        assertEquals(Optional.empty(), cache.state(a), "gone with its last request");
        assertTrue(device.slots.isEmpty(), "the slot was cleared");
        assertEquals(List.of("DEVICE:a", "HOST:a"), evicted);

        acquire(key("b"));
        release(key("b"));
        assertTrue(cache.evict(key("b")), "unused: dropped at once");
        assertFalse(cache.onDevice(key("b")), "b left the device");
        assertFalse(cache.onHost(key("b")), "b left the host tier");
        assertTrue(cache.evict(key("never-seen")));
    }

    @Test
    void aRetiringAdapterWantedAgainStays() {
        AdapterKey a = key("a");
        int slot = acquire(a);
        cache.evict(a);
        assertEquals(slot, acquire(a), "asked for by version: a hit");
        release(a);
        release(a);
        assertEquals(new Device(adapter(a), slot, 0, false), state(a));
    }

    @Test
    void aLoadEvictedWhileInFlightIsDiscarded() {
        cache.prefetch(key("a"));
        assertTrue(cache.evict(key("a")));
        assertEquals(Optional.empty(), cache.state(key("a")));
        finishLoads();
        assertEquals(Optional.empty(), cache.state(key("a")), "nobody waits for it any more");
        assertEquals(0, cache.stats().hostResident());
    }

    @Test
    void theHostTierMustHoldTheDeviceTier() {
        assertThrows(IllegalArgumentException.class, () -> new AdapterCache(4, 3, device, source, loader::add, null));
        assertThrows(IllegalArgumentException.class, () -> new AdapterCache(0, 3, device, source, loader::add, null));
    }

    @Test
    void aShutDownLoaderFailsTheAcquireInsteadOfWaitingForever() {
        AdapterCache closed = new AdapterCache(1, 1, device, source, r -> {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }, null);
        assertThrows(dev.chorus.engine.EngineException.class, () -> closed.acquire(key("a")));
        assertInstanceOf(Failed.class, closed.state(key("a")).orElseThrow());
        closed.prefetch(key("b")); // only a hint: no exception
        closed.checkInvariants();
    }

    @Test
    void randomWorkloadKeepsTheInvariants() {
        SplittableRandom rnd = new SplittableRandom(4);
        Map<AdapterKey, Integer> held = new HashMap<>();
        for (int i = 0; i < 5000; i++) {
            AdapterKey k = key("k" + rnd.nextInt(8));
            int op = rnd.nextInt(10);
            if (op < 4 && held.getOrDefault(k, 0) > 0) {
                release(k);
                held.merge(k, -1, Integer::sum);
            } else if (op == 4) {
                boolean gone = cache.evict(k);
                assertEquals(held.getOrDefault(k, 0) == 0, gone, "evict defers exactly while pinned");
            } else if (op == 5) {
                cache.prefetch(k);
                if (rnd.nextBoolean()) {
                    finishLoads();
                }
            } else if (op == 6) {
                broken.put(k, new AdapterFormatException("flaky"));
                if (acquire(k) >= 1) {
                    held.merge(k, 1, Integer::sum); // was resident already
                }
                broken.remove(k);
            } else if (acquire(k) >= 1) {
                held.merge(k, 1, Integer::sum);
            } else if (!(state(k) instanceof Failed)) {
                assertEquals(2, held.values().stream().filter(n -> n > 0).count(), "waits only when both slots are pinned");
            }
            cache.checkInvariants();
            assertTrue(device.slots.size() <= 2);
            for (Map.Entry<AdapterKey, Integer> e : held.entrySet()) {
                if (e.getValue() > 0) {
                    Device d = assertInstanceOf(Device.class, state(e.getKey()), "pinned ⇒ on the device");
                    assertEquals(e.getValue(), d.pins());
                    assertSame(d.adapter(), device.slots.get(d.slot()));
                }
            }
        }
        assertNotEquals(0, cache.stats().evictions());
    }

    @Test
    void anAdapterOnLocalStorageNeverQueuesBehindADownload() {
        List<Runnable> local = new ArrayList<>();
        List<Runnable> downloads = new ArrayList<>();
        AdapterSource registry = new AdapterSource() {
            @Override
            public Adapter load(AdapterKey k) {
                return adapter(k);
            }

            @Override
            public boolean local(AdapterKey k) {
                return k.name().startsWith("cached");
            }
        };
        AdapterCache split = new AdapterCache(2, 3, new RecordingSlots(), registry, local::add, downloads::add, null);
        List<AdapterCache.LoadResult> results = new ArrayList<>();
        split.onLoadFinished(results::add);
        assertEquals(AdapterCache.WAIT, split.acquire(key("remote-a")));
        assertEquals(AdapterCache.WAIT, split.acquire(key("remote-b")));
        assertEquals(AdapterCache.WAIT, split.acquire(key("cached")));
        assertEquals(2, downloads.size(), "two downloads, neither run yet");
        assertEquals(1, local.size(), "the cached adapter's load is on its own executor");
        local.remove(0).run(); // the downloads are still stuck
        split.loaded(results.remove(0));
        assertTrue(split.acquire(key("cached")) >= 1, "served while both downloads are still pending");
        split.checkInvariants();
    }
}
