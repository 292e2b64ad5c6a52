package dev.chorus.engine.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterSource;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergeSettings;
import dev.chorus.engine.merged.MergedBases;
import dev.chorus.engine.merged.MergedVariant;
import dev.chorus.engine.merged.VariantResidency;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Merged-only versions served on their variants through the loop; the variants' budget; no leaks over many merge cycles. */
class MergedServingTest {
    static final int[] PROMPT = {1, 80, 388, 489, 1169, 432, 77};
    static final Map<AdapterKey, Adapter> STORE = new ConcurrentHashMap<>();
    static LoadedModel model;
    static Path basePath;

    /** One compressed base for this class and {@link DynamicMergeTest}, freed with the test JVM. */
    @BeforeAll
    static synchronized void load() throws Exception {
        if (model == null) {
            basePath = MergedBases.compressed();
            model = LoadedModel.load(basePath, Optional.empty(), "cpu");
        }
    }

    static AdapterKey put(String name, AdapterType type, long seed) {
        AdapterKey key = new AdapterKey("acme", name, 1);
        STORE.put(key, MergedBases.random(model.config(), type, seed));
        return key;
    }

    static final AdapterSource SOURCE = key -> {
        Adapter a = STORE.get(key);
        if (a == null) {
            throw new dev.chorus.engine.adapter.AdapterNotFoundException(key);
        }
        return a;
    };

    static EngineLoop engine(LoadedModel base, Path path, int maxBatch, MergeSettings settings, MergeRecorder recorder, LongSupplier clock) {
        AdapterRuntime runtime = new AdapterRuntime(base, new AdapterSlots.Settings(4, 64, EnumSet.allOf(Projection.class)), 8, SOURCE, null);
        AdapterMerges merges = AdapterMerges.of(path, SOURCE, k -> Optional.ofNullable(STORE.get(k)).map(Adapter::type));
        return new EngineLoop(base, new EngineLoop.Settings(maxBatch, 64, 512), runtime, new Variants(merges, settings, recorder, clock));
    }

    static GenerationRequest request(String id, int tokens, AdapterKey adapter) {
        return new GenerationRequest(id, PROMPT, tokens, SamplingParams.GREEDY, List.of(), adapter);
    }

    static int[] run(EngineLoop e, String id, int tokens, AdapterKey adapter) {
        RecordingSink sink = new RecordingSink();
        e.submit(request(id, tokens, adapter), sink);
        assertEquals(FinishReason.LENGTH, sink.await(), id);
        return sink.tokenArray();
    }

    static MergeSettings budget(int models, long bytes) {
        return new MergeSettings(models, bytes, false, 1.0, 0.56, 0, 0, Duration.ofSeconds(1), 0.25);
    }

    @Test
    void aMergedOnlyVersionRunsOnItsVariantBesideBaseRequests() throws Exception {
        AdapterKey sparse = put("sparse", AdapterType.QA_SPARSE_PEFT, 31);
        MergeRecorder recorder = new MergeRecorder();
        int[] expected;
        try (MergedVariant v = MergedVariant.build(sparse, model, STORE.get(sparse).kind().merge(STORE.get(sparse), FrozenLinears.read(basePath)))) {
            expected = MergedBases.greedy(model, v.model(), null, PROMPT, 20, null);
        }
        int[] base = MergedBases.greedy(model, model.model(), null, PROMPT, 20, null);
        try (EngineLoop e = engine(model, basePath, 4, budget(2, Long.MAX_VALUE), recorder, System::nanoTime)) {
            RecordingSink merged = new RecordingSink();
            RecordingSink plain = new RecordingSink();
            e.submit(request("merged", 20, sparse), merged);
            e.submit(request("plain", 20, null), plain);
            merged.await();
            plain.await();
            assertArrayEquals(expected, merged.tokenArray(), "the variant's greedy output");
            assertArrayEquals(base, plain.tokenArray(), "the base request next to it is untouched");
            assertFalse(java.util.Arrays.equals(expected, base), "the merge changes the output");
            assertEquals(Boolean.TRUE, recorder.mergedById.get("merged"));
            assertEquals(1, e.stats().mergedModels().resident());
        }
    }

    @Test
    void aThirdVariantEvictsTheLeastRecentlyUsed() {
        AdapterKey a = put("a", AdapterType.SPARSE_PEFT, 41);
        AdapterKey b = put("b", AdapterType.SPARSE_PEFT, 42);
        AdapterKey c = put("c", AdapterType.SPARSE_PEFT, 43);
        MergeRecorder recorder = new MergeRecorder();
        try (EngineLoop e = engine(model, basePath, 2, budget(2, Long.MAX_VALUE), recorder, System::nanoTime)) {
            int[] first = run(e, "a1", 6, a);
            run(e, "b1", 6, b);
            run(e, "a2", 6, a); // a is now more recent than b
            assertEquals(List.of(), recorder.actions());
            run(e, "c1", 6, c);
            assertEquals(List.of("evict b"), recorder.actions(), "max-models 2: c pushes out the least recently used, b");
            assertEquals(2, e.stats().mergedModels().resident());
            assertArrayEquals(first, run(e, "a3", 6, a), "a stayed resident and still answers the same");
            run(e, "b2", 6, b);
            assertEquals(List.of("evict b", "evict c"), recorder.actions());
        }
    }

    @Test
    void theByteBudgetHoldsOneVariantWhenTwoDoNotFit() {
        AdapterKey a = put("bytes-a", AdapterType.SPARSE_PEFT, 51);
        AdapterKey b = put("bytes-b", AdapterType.SPARSE_PEFT, 52);
        MergeRecorder recorder = new MergeRecorder();
        long one;
        try (MergedVariant v = MergedVariant.build(a, model, STORE.get(a).kind().merge(STORE.get(a), FrozenLinears.read(basePath)))) {
            one = v.bytes();
        }
        try (EngineLoop e = engine(model, basePath, 2, budget(4, one * 3 / 2), recorder, System::nanoTime)) {
            run(e, "a", 4, a);
            assertEquals(one, e.stats().mergedModels().bytes());
            run(e, "b", 4, b);
            assertEquals(List.of("evict bytes-a"), recorder.actions());
            assertEquals(1, e.stats().mergedModels().resident());
        }
    }

    @Test
    void aMergedOnlyVersionWithoutItsMergedModelIsRefusedUntilItHasOne() {
        AdapterKey pending = new AdapterKey("acme", "pending", 1);
        java.util.concurrent.atomic.AtomicBoolean merged = new java.util.concurrent.atomic.AtomicBoolean();
        dev.chorus.engine.merged.MergedModels models = new dev.chorus.engine.merged.MergedModels() {
            @Override
            public Form form(AdapterKey key) {
                return merged.get() ? Form.MERGED_ONLY : Form.AWAITING_MERGE;
            }

            @Override
            public dev.chorus.engine.compressed.CompressedParameters merged(AdapterKey key) {
                Adapter a = MergedBases.random(model.config(), AdapterType.SPARSE_PEFT, 81);
                return a.kind().merge(a, FrozenLinears.read(basePath));
            }
        };
        AdapterRuntime runtime = new AdapterRuntime(model, new AdapterSlots.Settings(2, 8, EnumSet.allOf(Projection.class)), 2, SOURCE, null);
        try (EngineLoop e = new EngineLoop(model, new EngineLoop.Settings(2, 8, 512), runtime,
                new Variants(models, budget(2, Long.MAX_VALUE), new MergeRecorder()))) {
            var refused = org.junit.jupiter.api.Assertions.assertThrows(dev.chorus.engine.merged.MergePendingException.class,
                    () -> e.submit(request("early", 4, pending), new RecordingSink()));
            assertTrue(refused.getMessage().contains("being merged"), refused.getMessage());
            merged.set(true); // training attached the merged model
            assertEquals(4, run(e, "later", 4, pending).length);
        }
    }

    /** 100 builds, uses and drops: the NDArrays under the model's manager and the process RSS come back to where they were. */
    @Test
    void mergeCyclesLeakNothing() throws Exception {
        AdapterKey key = put("cycled", AdapterType.QA_LORA, 61);
        FrozenLinears frozen = FrozenLinears.read(basePath);
        LinkedBlockingQueue<VariantResidency.LoadResult> results = new LinkedBlockingQueue<>();
        VariantResidency.Listener quiet = new VariantResidency.Listener() {
            @Override
            public void resident(AdapterKey k, long bytes) {
            }

            @Override
            public void released(AdapterKey k, boolean lru) {
            }

            @Override
            public void failed(AdapterKey k, dev.chorus.engine.EngineException error) {
                throw new AssertionError(error);
            }
        };
        try (VariantResidency residency = new VariantResidency(2, Long.MAX_VALUE,
                k -> MergedVariant.build(k, model, STORE.get(k).kind().merge(STORE.get(k), frozen)), results::add, quiet)) {
            int arraysBefore = model.manager().getManagedArrays().size();
            long[] rss = new long[101];
            for (int cycle = 1; cycle <= 100; cycle++) {
                assertTrue(residency.request(key));
                residency.loaded(results.poll(60, TimeUnit.SECONDS));
                MergedVariant v = residency.acquire(key).orElseThrow();
                MergedBases.greedy(model, v.model(), null, PROMPT, 2, null);
                residency.release(v);
                residency.drop(key);
                assertEquals(0, residency.stats().resident());
                if (cycle % 10 == 0) {
                    System.gc();
                    rss[cycle] = rssKb();
                }
            }
            int arraysAfter = model.manager().getManagedArrays().size();
            System.out.printf("100 merge/unmerge cycles: NDArrays under the model %d -> %d; RSS (kB) at cycles 10..100: %s%n", arraysBefore,
                    arraysAfter, java.util.Arrays.toString(java.util.stream.IntStream.rangeClosed(1, 10).mapToLong(i -> rss[10 * i]).toArray()));
            assertEquals(arraysBefore, arraysAfter, "every variant's arrays are freed with it");
            // A leak grows with the cycles; the heap and allocator settle early. Compare the second half's growth with the first's.
            long late = rss[100] - rss[50];
            assertTrue(late < 32 * 1024, "RSS grew by " + late + " kB over cycles 50..100");
        }
    }

    static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
