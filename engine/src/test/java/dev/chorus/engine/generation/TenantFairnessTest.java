package dev.chorus.engine.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine shares itself out by tenant: waiting requests are admitted round-robin, a prefill pass
 * gives each tenant an equal share of its budget first, and one tenant holds at most every slot and
 * half of the waiting places.
 */
class TenantFairnessTest {
    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.load(TestModels.tinyStories656k(), Optional.empty(), "cpu");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Sequence seq(String id, String tenant, int promptTokens) {
        return seq(id, tenant, promptTokens, 4);
    }

    static Sequence seq(String id, String tenant, int promptTokens, int maxTokens) {
        int[] prompt = new int[promptTokens];
        java.util.Arrays.fill(prompt, 1);
        return new Sequence(new GenerationRequest(id, prompt, maxTokens, SamplingParams.GREEDY, List.of(), null, tenant), new RecordingSink(),
                null);
    }

    static List<String> ids(List<Sequence> sequences) {
        return sequences.stream().map(s -> s.request.id()).toList();
    }

    @Test
    void waitingRequestsAreOfferedRoundRobinByTenantStartingAfterTheLastServed() {
        TenantQueues q = new TenantQueues();
        for (int i = 1; i <= 4; i++) {
            q.add(seq("a" + i, "acme", 10));
        }
        q.add(seq("g1", "globex", 10));
        q.add(seq("i1", "initech", 10));
        q.add(seq("g2", "globex", 10));
        assertEquals(List.of("a1", "g1", "i1", "a2", "g2", "a3", "a4"), ids(q.inTurn()));
        Sequence a1 = q.inTurn().get(0);
        q.admitted(a1); // acme was served: its next request waits for globex's and initech's turn
        assertEquals(List.of("g1", "i1", "a2", "g2", "a3", "a4"), ids(q.inTurn()));
        q.removeIf(s -> s.request.tenant().equals("globex"));
        assertEquals(List.of("i1", "a2", "a3", "a4"), ids(q.inTurn()));
        assertEquals(4, q.size());
        q.admitted(q.inTurn().get(0)); // initech leaves the turn when it has nothing waiting
        assertEquals(List.of("a2", "a3", "a4"), ids(q.inTurn()));
        q.add(seq("i2", "initech", 10)); // and joins at the back
        assertEquals(List.of("a2", "i2", "a3", "a4"), ids(q.inTurn()));
    }

    @Test
    void aPrefillPassGivesEachTenantAnEqualShareFirstThenTheRestOldestFirst() {
        Prefills p = new Prefills();
        Sequence a1 = seq("a1", "acme", 300);
        Sequence a2 = seq("a2", "acme", 300);
        Sequence g1 = seq("g1", "globex", 20);
        p.add(a1);
        p.add(a2);
        p.add(g1);
        // Budget 100, two tenants: acme's share 50 goes to a1; globex's 20 to g1; the 30 left oldest first: a1.
        Prefills.Pass pass = p.next(100, 100, Set.of("acme"));
        assertEquals(List.of(a1, g1), pass.rows());
        assertArrayEquals(new int[] {80, 20}, pass.chunks());
        // One tenant alone: oldest first, the last a chunk (as before tenants were counted).
        Prefills alone = new Prefills();
        alone.add(a1);
        alone.add(a2);
        a1.position = 250;
        Prefills.Pass oldestFirst = alone.next(100, 8, Set.of("acme"));
        assertEquals(List.of(a1, a2), oldestFirst.rows());
        assertArrayEquals(new int[] {50, 50}, oldestFirst.chunks());
        a1.position = 300;
        a2.position = 300;
        assertNull(alone.next(100, 8, Set.of("acme")), "nothing left to prefill");
        // globex decoding: acme's prompts advance by at most the per-tenant budget, 8 tokens, the rest goes unspent.
        a1.position = 295;
        a2.position = 0;
        Prefills.Pass bounded = alone.next(100, 8, Set.of("acme", "globex"));
        assertEquals(List.of(a1, a2), bounded.rows());
        assertArrayEquals(new int[] {5, 3}, bounded.chunks());
    }

    @Test
    void aSmallPromptArrivingDuringAFloodIsPrefilledInAShortPass() {
        // acme's long prompts wait for prefill (acme also decoding, or not yet); globex's 7 tokens arrive. The pass that
        // carries them holds at most the per-tenant budget of acme's tokens, not the rest of the whole budget (505).
        for (Set<String> decoding : List.of(Set.<String>of(), Set.of("acme"))) {
            Prefills p = new Prefills();
            Sequence a1 = seq("a1", "acme", 247);
            Sequence a2 = seq("a2", "acme", 247);
            Sequence g1 = seq("g1", "globex", 7);
            p.add(a1);
            p.add(a2);
            p.add(g1);
            Prefills.Pass pass = p.next(512, 64, decoding);
            assertEquals(List.of(a1, g1), pass.rows(), "decoding " + decoding);
            assertArrayEquals(new int[] {64, 7}, pass.chunks(), "decoding " + decoding);
        }
    }

    @Test
    void aFloodPrefillsAtMostItsBoundBesideAnotherTenantsNewRequests() {
        // The loop's scheduling driven by hand, iteration by iteration as EngineLoop.run does it (admit, one prefill pass,
        // one decode step), with no model and no threads: serving's settings; acme floods 32 prompts of 247 tokens
        // (32 tokens each), globex sends 7-token requests one after another (16 tokens each), as the fault suite does.
        // Counted, not timed: for each of globex's requests, the iterations to its first token and acme's prompt tokens
        // prefilled meanwhile (the flood's slots turn over, so globex often arrives beside acme's pending prompts).
        EngineLoop.Settings settings = new EngineLoop.Settings(16, 64, 512, 14, 64);
        Admission admission = new Admission(settings, null, null, (s, e) -> {
            throw new AssertionError(e);
        });
        Prefills prefilling = new Prefills();
        List<Sequence> running = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            admission.waiting().add(seq("acme-" + i, "acme", 247, 32));
        }
        Sequence globex = null;
        int acmeTokensBeside = 0;
        int iterationsWaited = 0;
        List<String> waits = new ArrayList<>();
        for (int iteration = 0; iteration < 10_000 && waits.size() < 40 && (iteration < 8 || !running.isEmpty()); iteration++) {
            if (iteration >= 8 && (globex == null || globex.done != null)) { // the next one arrives once the last is answered
                globex = seq("globex-" + waits.size(), "globex", 7, 16);
                admission.waiting().add(globex);
                acmeTokensBeside = 0;
                iterationsWaited = 0;
            }
            admission.admit(prefilling);
            Set<String> decoding = new java.util.HashSet<>();
            running.forEach(s -> decoding.add(s.request.tenant()));
            Prefills.Pass pass = prefilling.next(settings.prefillBudget(), settings.tenantPrefillBudget(), decoding);
            boolean waiting = globex != null && globex.generated == 0;
            for (int r = 0; pass != null && r < pass.rows().size(); r++) { // what StepRunner.prefill does to positions
                Sequence s = pass.rows().get(r);
                s.position += pass.chunks()[r];
                acmeTokensBeside += waiting && s.request.tenant().equals("acme") ? pass.chunks()[r] : 0;
                if (prefilling.completed(s)) {
                    running.add(s);
                    s.generated++;
                }
            }
            running.forEach(s -> s.generated++); // one decode step (a sequence whose prompt just completed too, as in the loop)
            running.removeIf(s -> {
                if (s.generated >= s.request.maxTokens()) {
                    s.done = FinishReason.LENGTH;
                    admission.freeSlot(s);
                }
                return s.done != null;
            });
            if (waiting) {
                iterationsWaited++;
                if (globex.generated > 0) {
                    waits.add(iterationsWaited + " iteration(s), " + acmeTokensBeside + " acme tokens");
                }
            }
        }
        assertTrue(waits.size() >= 5, "globex's requests answered during the flood: " + waits);
        String expected = "1 iteration(s), ";
        for (String wait : waits) {
            assertTrue(wait.startsWith(expected) && Integer.parseInt(wait.substring(expected.length()).split(" ")[0])
                    <= settings.tenantPrefillBudget(), "each of globex's prompts is prefilled in the iteration it arrives, beside at most "
                    + settings.tenantPrefillBudget() + " of acme's prompt tokens: " + waits);
        }
    }

    @Test
    void aFloodingTenantDoesNotHoldBackAnotherTenantsRequest() {
        // One slot: requests run one at a time. acme queues eight, then globex one; globex's runs second or
        // third (round-robin), not ninth (first come, first served). A third tenant's request holds the slot
        // until all nine are queued, so the order does not depend on how fast this thread submits.
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 32, 512))) {
            ConcurrentLinkedQueue<String> finished = new ConcurrentLinkedQueue<>();
            RecordingSink blocker = submit(engine, "initech", "initech", new ConcurrentLinkedQueue<>(), LONG);
            MergeRecorder.await(() -> engine.stats().running() == 1, "the slot held");
            List<RecordingSink> sinks = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                sinks.add(submit(engine, "acme-" + i, "acme", finished));
            }
            sinks.add(submit(engine, "globex", "globex", finished));
            MergeRecorder.await(() -> engine.stats().waiting() == 9, "nine requests queued");
            engine.cancel("initech");
            assertEquals(FinishReason.CANCELLED, blocker.await());
            sinks.forEach(RecordingSink::await);
            int place = new ArrayList<>(finished).indexOf("globex");
            assertTrue(place <= 2, "globex finished at place " + place + " of " + finished);
        }
    }

    @Test
    void slotsBeyondATenantsShareStayFreeForAnotherTenant() {
        // Two slots, one per tenant: acme's second request waits although a slot is free, and globex, arriving
        // while acme's first runs, starts at once and finishes first (with both slots open to acme, it would
        // wait for one of acme's long requests to end).
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(2, 16, 512, 1, 512))) {
            ConcurrentLinkedQueue<String> finishOrder = new ConcurrentLinkedQueue<>();
            RecordingSink first = submit(engine, "acme-0", "acme", finishOrder, 200);
            RecordingSink second = submit(engine, "acme-1", "acme", finishOrder, 200);
            RecordingSink globex = submit(engine, "globex", "globex", finishOrder, 8);
            List.of(first, second, globex).forEach(RecordingSink::await);
            assertEquals(List.of("globex", "acme-0", "acme-1"), new ArrayList<>(finishOrder));
        }
        assertThrows(IllegalArgumentException.class, () -> new EngineLoop.Settings(2, 16, 512, 3, 512));
    }

    @Test
    void oneTenantHoldsEverySlotButOnlyHalfOfTheWaitingPlaces() {
        // 2 slots + 6 waiting places = 8; a tenant's share is 2 + 3 = 5, the other 3 places stay for the others.
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(2, 6, 512))) {
            List<RecordingSink> sinks = new ArrayList<>();
            for (int i = 0; i < 5; i++) { // long enough that none finishes while this test fills the queue
                sinks.add(submit(engine, "acme-" + i, "acme", new ConcurrentLinkedQueue<>(), LONG));
            }
            EngineOverloadedException e = assertThrows(EngineOverloadedException.class,
                    () -> submit(engine, "acme-over", "acme", new ConcurrentLinkedQueue<>()));
            assertTrue(e.getMessage().contains("its share"), e.getMessage());
            for (int i = 0; i < 3; i++) {
                sinks.add(submit(engine, "globex-" + i, "globex", new ConcurrentLinkedQueue<>(), LONG));
            }
            assertThrows(EngineOverloadedException.class, () -> submit(engine, "initech", "initech", new ConcurrentLinkedQueue<>()),
                    "the engine's whole queue is full");
            for (int i = 0; i < 5; i++) {
                engine.cancel("acme-" + i);
            }
            for (int i = 0; i < 3; i++) {
                engine.cancel("globex-" + i);
            }
            sinks.forEach(RecordingSink::await);
            sinks.add(submit(engine, "acme-later", "acme", new ConcurrentLinkedQueue<>())); // finished requests give their places back
            sinks.get(sinks.size() - 1).await();
        }
    }

    /** Tokens for a request that must outlast the test's submissions; it is cancelled, never run to the end. */
    static final int LONG = 400;

    static RecordingSink submit(EngineLoop engine, String id, String tenant, ConcurrentLinkedQueue<String> finishOrder) {
        return submit(engine, id, tenant, finishOrder, 24);
    }

    static RecordingSink submit(EngineLoop engine, String id, String tenant, ConcurrentLinkedQueue<String> finishOrder, int maxTokens) {
        RecordingSink sink = new RecordingSink() {
            @Override
            public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
                finishOrder.add(id);
                super.onFinish(reason, promptTokens, completionTokens);
            }
        };
        int[] prompt = model.requireTokenizer().encode("Once upon a time there was a little girl named Lily");
        engine.submit(new GenerationRequest(id, prompt, maxTokens, SamplingParams.GREEDY, List.of(), null, tenant), sink);
        return sink;
    }
}
