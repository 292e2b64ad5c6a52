package dev.chorus.engine.generation;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.BatchedAdapterForwardTestSupport;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterSource;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests with adapters through the continuous-batching loop. */
class AdapterServingTest {
    static LoadedModel model;
    static final AdapterKey V1 = new AdapterKey("acme", "pirate", 1);
    static final AdapterKey V2 = new AdapterKey("acme", "pirate", 2);
    static final AdapterKey OTHER = new AdapterKey("globex", "space", 1);
    static final AdapterKey CORRUPT = new AdapterKey("acme", "broken", 1);
    static final AdapterKey FLAKY = new AdapterKey("acme", "flaky", 1); // its first read fails
    static final AdapterKey TOO_BIG = new AdapterKey("acme", "huge", 1); // rank 32: the slots hold rank 16
    static final Map<AdapterKey, Adapter> STORE = new HashMap<>();
    static final Map<AdapterKey, AtomicInteger> READS = new ConcurrentHashMap<>();

    @BeforeAll
    static void load() {
        model = LoadedModel.load(TestModels.tinyStories656k(), Optional.empty(), "cpu");
        var c = model.config();
        STORE.put(V1, dev.chorus.engine.adapter.BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 8, 21));
        STORE.put(V2, dev.chorus.engine.adapter.BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.QA_LORA, 8, 22));
        STORE.put(OTHER, dev.chorus.engine.adapter.BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.SCALE, 0, 23));
        STORE.put(FLAKY, BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 4, 24));
        STORE.put(TOO_BIG, BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 32, 25));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** An adapter source that takes a while, like a disk or the registry, and knows one corrupt adapter. */
    static final AdapterSource SLOW_SOURCE = key -> {
        int reads = READS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        try {
            Thread.sleep(150);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (key.equals(CORRUPT) || (key.equals(FLAKY) && reads == 1)) {
            throw new AdapterFormatException(key + ": adapter_model.safetensors is truncated");
        }
        Adapter a = STORE.get(key);
        if (a == null) {
            throw new AdapterFormatException(key + ": not found");
        }
        return a;
    };

    static EngineLoop engine(int maxBatch, int maxAdapters) {
        AdapterRuntime runtime = new AdapterRuntime(model, new AdapterSlots.Settings(maxAdapters, 16, EnumSet.allOf(Projection.class)), 8,
                SLOW_SOURCE, null);
        return new EngineLoop(model, new EngineLoop.Settings(maxBatch, 32, 512), runtime);
    }

    static GenerationRequest request(String id, String prompt, int tokens, AdapterKey adapter) {
        return new GenerationRequest(id, model.requireTokenizer().encode(prompt), tokens, SamplingParams.GREEDY, List.of(), adapter);
    }

    static int[] alone(String prompt, int tokens, AdapterKey adapter) {
        try (EngineLoop e = engine(1, 1)) {
            RecordingSink sink = new RecordingSink();
            e.submit(request("alone", prompt, tokens, adapter), sink);
            sink.await();
            return sink.tokenArray();
        }
    }

    @Test
    void mixedAdaptersInOneBatchEqualEachRequestAlone() {
        String[] prompts = {"Tom found a shiny key", "Once upon a time", "The cat sat", "A big red dog"};
        AdapterKey[] keys = {V1, null, OTHER, V1};
        List<RecordingSink> sinks = new ArrayList<>();
        try (EngineLoop e = engine(4, 3)) {
            for (int i = 0; i < prompts.length; i++) {
                RecordingSink sink = new RecordingSink();
                sinks.add(sink);
                e.submit(request("r" + i, prompts[i], 24, keys[i]), sink);
            }
            for (RecordingSink s : sinks) {
                assertEquals(FinishReason.LENGTH, s.await());
            }
        }
        for (int i = 0; i < prompts.length; i++) {
            assertArrayEquals(alone(prompts[i], 24, keys[i]), sinks.get(i).tokenArray(), "request " + i);
        }
        assertFalse(java.util.Arrays.equals(alone(prompts[0], 24, null), sinks.get(0).tokenArray()), "the adapter changes the output");
    }

    @Test
    void aCorruptAdapterFailsOnlyItsOwnRequests() throws Exception {
        try (EngineLoop e = engine(4, 2)) {
            RecordingSink bad1 = new RecordingSink();
            RecordingSink good = new RecordingSink();
            RecordingSink bad2 = new RecordingSink();
            RecordingSink base = new RecordingSink();
            e.submit(request("b1", "Once upon a time", 16, CORRUPT), bad1);
            e.submit(request("g", "Once upon a time", 16, V1), good);
            e.submit(request("b2", "The cat sat", 16, CORRUPT), bad2);
            e.submit(request("base", "The cat sat", 16, null), base);
            for (RecordingSink bad : List.of(bad1, bad2)) {
                ExecutionException failure = assertThrows(ExecutionException.class, () -> bad.finished.get(30, TimeUnit.SECONDS));
                assertInstanceOf(AdapterFormatException.class, failure.getCause());
                assertTrue(failure.getCause().getMessage().contains("truncated"), failure.getCause().getMessage());
            }
            assertEquals(FinishReason.LENGTH, good.await());
            assertEquals(FinishReason.LENGTH, base.await());
            assertEquals(16, good.tokenArray().length);
        }
    }

    @Test
    void runningStreamsFinishOnTheirVersionWhileNewRequestsUseTheNext() throws Exception {
        int[] v1Alone = alone("Tom found a shiny key", 40, V1);
        int[] v2Alone = alone("Tom found a shiny key", 12, V2);
        try (EngineLoop e = engine(6, 2)) {
            List<RecordingSink> onV1 = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                RecordingSink s = new RecordingSink();
                onV1.add(s);
                e.submit(request("v1-" + i, "Tom found a shiny key", 40, V1), s);
            }
            while (onV1.get(0).tokenArray().length < 5) {
                Thread.sleep(2);
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!e.stats().runningAdapters().equals(java.util.Set.of("acme/pirate@1")) && System.nanoTime() < deadline) {
                Thread.sleep(2); // stats are published after each iteration
            }
            assertEquals(java.util.Set.of("acme/pirate@1"), e.stats().runningAdapters());
            RecordingSink onV2 = new RecordingSink(); // v2 became the active version: new requests name it
            e.submit(request("v2", "Tom found a shiny key", 12, V2), onV2);
            assertEquals(FinishReason.LENGTH, onV2.await());
            assertArrayEquals(v2Alone, onV2.tokenArray());
            for (RecordingSink s : onV1) {
                assertEquals(FinishReason.LENGTH, s.await());
                assertArrayEquals(v1Alone, s.tokenArray(), "streams started on v1 finish on v1");
            }
        }
    }

    @Test
    void whenEveryAdapterSlotIsPinnedARequestWaitsAndBaseRequestsKeepGoing() {
        try (EngineLoop e = engine(4, 1)) {
            RecordingSink first = new RecordingSink();
            RecordingSink second = new RecordingSink();
            RecordingSink base = new RecordingSink();
            e.submit(request("a", "Once upon a time", 30, V1), first);
            e.submit(request("b", "Once upon a time", 10, OTHER), second);
            e.submit(request("c", "The cat sat", 10, null), base);
            assertEquals(FinishReason.LENGTH, base.await());
            assertEquals(FinishReason.LENGTH, first.await());
            assertEquals(FinishReason.LENGTH, second.await());
            assertArrayEquals(alone("Once upon a time", 10, OTHER), second.tokenArray());
        }
    }

    static int reads(AdapterKey key) {
        return READS.computeIfAbsent(key, k -> new AtomicInteger()).get();
    }

    /** Waits for the engine's published adapter cache stats to satisfy {@code condition} (they are published every iteration). */
    static AdapterCache.Stats awaitCache(EngineLoop e, Predicate<AdapterCache.Stats> condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.test(e.stats().adapterCache()) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(condition.test(e.stats().adapterCache()), String.valueOf(e.stats().adapterCache()));
        return e.stats().adapterCache();
    }

    static void assertFailsWith(RecordingSink sink, String reason) {
        ExecutionException failure = assertThrows(ExecutionException.class, () -> sink.finished.get(30, TimeUnit.SECONDS));
        assertInstanceOf(AdapterFormatException.class, failure.getCause());
        assertTrue(failure.getCause().getMessage().contains(reason), failure.getCause().getMessage());
    }

    @Test
    void aFailedLoadFailsEveryRequestWaitingForItOnceAndALaterRequestRetries() {
        int before = reads(FLAKY);
        try (EngineLoop e = engine(4, 2)) {
            RecordingSink first = new RecordingSink();
            RecordingSink second = new RecordingSink();
            e.submit(request("f1", "Once upon a time", 8, FLAKY), first);
            e.submit(request("f2", "The cat sat", 8, FLAKY), second);
            assertFailsWith(first, "truncated");
            assertFailsWith(second, "truncated");
            assertEquals(before + 1, reads(FLAKY), "both waited on one load");
            RecordingSink later = new RecordingSink();
            e.submit(request("f3", "Once upon a time", 8, FLAKY), later);
            assertEquals(FinishReason.LENGTH, later.await(), "a later request loads it again");
            assertEquals(before + 2, reads(FLAKY));
        }
    }

    @Test
    void anAdapterTheSlotsRejectFailsOnlyItsRequests() {
        try (EngineLoop e = engine(4, 2)) {
            RecordingSink big1 = new RecordingSink();
            RecordingSink big2 = new RecordingSink();
            RecordingSink good = new RecordingSink();
            RecordingSink base = new RecordingSink();
            e.submit(request("h1", "Once upon a time", 8, TOO_BIG), big1);
            e.submit(request("h2", "The cat sat", 8, TOO_BIG), big2);
            e.submit(request("g", "Once upon a time", 8, V1), good);
            e.submit(request("base", "The cat sat", 8, null), base);
            assertFailsWith(big1, "exceeds the slot rank");
            assertFailsWith(big2, "exceeds the slot rank");
            assertEquals(FinishReason.LENGTH, good.await());
            assertEquals(FinishReason.LENGTH, base.await());
        }
    }

    @Test
    void aPrefetchedAdapterServesItsFirstRequestWithoutWaitingForTheSource() throws Exception {
        int before = reads(OTHER);
        try (EngineLoop e = engine(2, 2)) {
            e.prefetch(OTHER);
            awaitCache(e, s -> s.hostResident() == 1);
            assertEquals(0, e.stats().adapterCache().deviceResident(), "prefetch fills the host tier, not a slot");
            RecordingSink sink = new RecordingSink();
            e.submit(request("p", "Once upon a time", 8, OTHER), sink);
            assertEquals(FinishReason.LENGTH, sink.await());
            assertEquals(before + 1, reads(OTHER), "read once, by the prefetch");
            AdapterCache.Stats s = awaitCache(e, st -> st.pinned() == 0);
            assertEquals(1, s.misses(), "one upload into a slot");
            assertEquals(1, s.deviceResident());
        }
    }

    @Test
    void swapPrefetchesTheNewVersionAndRetiresTheOldOnceItsStreamsFinish() throws Exception {
        int[] v1Alone = alone("Tom found a shiny key", 40, V1);
        int[] v2Alone = alone("Tom found a shiny key", 12, V2);
        try (EngineLoop e = engine(4, 2)) {
            List<RecordingSink> onV1 = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                RecordingSink s = new RecordingSink();
                onV1.add(s);
                e.submit(request("v1-" + i, "Tom found a shiny key", 40, V1), s);
            }
            while (onV1.get(0).tokenArray().length < 2) {
                Thread.sleep(2);
            }
            e.swap(V1, V2);
            for (RecordingSink s : onV1) {
                assertEquals(FinishReason.LENGTH, s.await());
                assertArrayEquals(v1Alone, s.tokenArray(), "streams started on v1 finish on v1");
            }
            // v1 leaves both tiers with its last stream; v2 waits parsed on the host tier.
            AdapterCache.Stats s = awaitCache(e, st -> st.deviceResident() == 0 && st.hostResident() == 1);
            assertEquals(2, s.evictions(), "v1 left the device and the host tier");
            RecordingSink onV2 = new RecordingSink();
            e.submit(request("v2", "Tom found a shiny key", 12, V2), onV2);
            assertEquals(FinishReason.LENGTH, onV2.await());
            assertArrayEquals(v2Alone, onV2.tokenArray());
            e.evict(V2);
            awaitCache(e, st -> st.deviceResident() == 0 && st.hostResident() == 0);
        }
    }

    @Test
    void anEngineWithoutAdaptersRejectsAdapterRequests() {
        try (EngineLoop e = new EngineLoop(model, new EngineLoop.Settings(1, 1, 512))) {
            assertThrows(dev.chorus.engine.InvalidRequestException.class, () -> e.submit(request("x", "Hi", 2, V1), new RecordingSink()));
        }
    }
}
