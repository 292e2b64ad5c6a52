package dev.chorus.engine.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.merged.MergeSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * dLoRA's policy through the loop on a clock the test moves: a hot adapter is merged, its new
 * requests run on the variant with the unmerged output, the ones already running finish unmerged,
 * and the variant goes once the load drops; the starvation guard keeps slots for other tenants.
 */
class DynamicMergeTest {
    static final long SECOND = 1_000_000_000L;

    @org.junit.jupiter.api.BeforeAll
    static void load() throws Exception {
        MergedServingTest.load();
    }

    static MergeSettings dynamic() {
        return new MergeSettings(2, Long.MAX_VALUE, true, 1.0, 0.56, 0, 0, Duration.ofSeconds(1), 0.25);
    }

    @Test
    void aHotAdapterIsMergedForItsNewRequestsAndReleasedWhenTheLoadDrops() {
        AdapterKey hot = MergedServingTest.put("hot", AdapterType.QA_LORA, 71);
        MergeRecorder recorder = new MergeRecorder();
        AtomicLong clock = new AtomicLong();
        int early = 16; // 2 x batch: the queue stays above 1.0 x batch even as stories end
        List<RecordingSink> inFlight = new ArrayList<>();
        int[] tokensAtMerge = new int[early];
        AtomicInteger merges = new AtomicInteger();
        recorder.onResident = () -> { // engine thread: how far each request was when the variant arrived
            if (recorder.resident == 1 && merges.getAndIncrement() == 0) {
                for (int i = 0; i < early; i++) {
                    tokensAtMerge[i] = inFlight.get(i).tokens.size();
                }
            }
        };
        try (EngineLoop e = MergedServingTest.engine(MergedServingTest.model, MergedServingTest.basePath, 8, dynamic(), recorder, clock::get)) {
            for (int i = 0; i < early; i++) {
                RecordingSink sink = new RecordingSink();
                inFlight.add(sink);
                e.submit(MergedServingTest.request("early" + i, 300, hot), sink);
            }
            MergeRecorder.await(() -> e.stats().running() == 8, "8 hot requests running");
            assertEquals(List.of(), recorder.actions(), "no decision before a window has passed");
            clock.addAndGet(SECOND); // the window closes with the hot adapter's queue at 8..16 >= 1.0 x batch
            MergeRecorder.await(() -> recorder.resident == 1, "the hot adapter's variant");
            assertEquals(List.of("merge hot"), recorder.actions());

            List<RecordingSink> late = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                RecordingSink sink = new RecordingSink();
                late.add(sink);
                e.submit(MergedServingTest.request("late" + i, 300, hot), sink);
            }
            inFlight.forEach(RecordingSink::await);
            late.forEach(RecordingSink::await);
            int[] unmerged = inFlight.get(0).tokenArray();
            assertEquals(Boolean.FALSE, recorder.mergedById.get("early0"), "the first requests started unmerged");
            int caughtRunning = 0;
            for (int i = 0; i < early; i++) {
                boolean merged = recorder.mergedById.get("early" + i);
                int before = tokensAtMerge[i];
                int total = inFlight.get(i).tokens.size();
                assertTrue(!merged || before == 0, "early" + i + " ran on the variant only if it had not started before it arrived");
                caughtRunning += !merged && before > 0 && before < total ? 1 : 0;
                assertArrayEquals(unmerged, inFlight.get(i).tokenArray(), "early" + i + (merged ? " (merged)" : " (unmerged)"));
            }
            System.out.println("tokens of the early requests when the variant arrived: " + Arrays.toString(tokensAtMerge) + " of "
                    + unmerged.length + "; merged: " + recorder.mergedById);
            assertTrue(caughtRunning > 0, "some requests were mid-way when the variant arrived and finished unmerged");
            for (int i = 0; i < 4; i++) {
                assertEquals(Boolean.TRUE, recorder.mergedById.get("late" + i), "new requests run on the variant");
                assertArrayEquals(unmerged, late.get(i).tokenArray(), "merged output = unmerged output");
            }
            assertEquals(1, recorder.resident, "the variant stays while the window has not closed");
            clock.addAndGet(SECOND); // a window with no hot requests: below 0.56 x batch
            MergeRecorder.await(() -> recorder.resident == 0, "the variant released");
            assertEquals(List.of("merge hot", "unmerge hot"), recorder.actions());
        }
    }

    @Test
    void belowTheThresholdNothingMerges() {
        AdapterKey warm = MergedServingTest.put("warm", AdapterType.QA_LORA, 72);
        MergeRecorder recorder = new MergeRecorder();
        AtomicLong clock = new AtomicLong();
        try (EngineLoop e = MergedServingTest.engine(MergedServingTest.model, MergedServingTest.basePath, 8, dynamic(), recorder, clock::get)) {
            List<RecordingSink> sinks = new ArrayList<>();
            for (int i = 0; i < 7; i++) { // 7 < 1.0 x 8
                RecordingSink sink = new RecordingSink();
                sinks.add(sink);
                e.submit(MergedServingTest.request("w" + i, 200, warm), sink);
            }
            MergeRecorder.await(() -> e.stats().running() == 7, "7 requests running");
            long steps = e.stats().steps();
            clock.addAndGet(SECOND);
            MergeRecorder.await(() -> e.stats().steps() > steps + 2, "a few steps after the window closed");
            sinks.forEach(RecordingSink::await);
            assertEquals(List.of(), recorder.actions());
            assertEquals(0, recorder.resident);
        }
    }

    /**
     * With the variant's rows at 3 of 4 slots and another tenant waiting, the next slot goes to that
     * tenant. Base requests hold every slot until all seven are queued, so admission starts from a
     * known queue instead of racing the submitting thread.
     */
    @Test
    void theStarvationGuardKeepsSlotsForOtherTenants() {
        AdapterKey hot = MergedServingTest.put("busy", AdapterType.SPARSE_PEFT, 73);
        AdapterKey cold = MergedServingTest.put("cold", AdapterType.LORA, 74);
        MergeRecorder recorder = new MergeRecorder();
        try (EngineLoop e = MergedServingTest.engine(MergedServingTest.model, MergedServingTest.basePath, 4, dynamic(), recorder,
                System::nanoTime)) {
            MergedServingTest.run(e, "warmup", 2, hot); // the variant is resident
            List<RecordingSink> blockers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                RecordingSink sink = new RecordingSink();
                blockers.add(sink);
                e.submit(MergedServingTest.request("block" + i, 300, null), sink);
            }
            MergeRecorder.await(() -> e.stats().running() == 4, "4 base requests holding every slot");
            List<RecordingSink> sinks = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                RecordingSink sink = new RecordingSink();
                sinks.add(sink);
                e.submit(MergedServingTest.request("hot" + i, 120, hot), sink);
            }
            RecordingSink coldSink = new RecordingSink();
            sinks.add(coldSink);
            e.submit(MergedServingTest.request("cold", 8, cold), coldSink);
            MergeRecorder.await(() -> e.stats().waiting() == 7, "6 hot and 1 cold request queued");
            for (int i = 0; i < 4; i++) {
                e.cancel("block" + i);
            }
            blockers.forEach(b -> assertEquals(FinishReason.CANCELLED, b.await()));
            sinks.forEach(RecordingSink::await);
            List<String> order = new ArrayList<>(recorder.admissionOrder);
            order.remove("warmup");
            System.out.println("admission order: " + order);
            assertEquals(List.of("hot0", "hot1", "hot2", "cold"), order.subList(0, 4),
                    "three variant rows, then the cold tenant before the fourth: " + order);
            assertEquals(7, order.size());
        }
    }
}
