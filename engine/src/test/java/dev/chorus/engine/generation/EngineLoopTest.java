package dev.chorus.engine.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EngineLoopTest {
    static final String[] PROMPTS = {"Tom found a shiny key", "Once upon a time", "The cat sat", "Lily and Ben went to the park",
            "A big red dog", "The sun was hot and", "Sara liked to paint", "One day, a little bird"};

    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.load(TestModels.tinyStories656k(), Optional.empty(), "cpu");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static GenerationRequest greedy(String id, String prompt, int maxTokens) {
        return new GenerationRequest(id, model.requireTokenizer().encode(prompt), maxTokens, SamplingParams.GREEDY, List.of());
    }

    @Test
    void eightPromptsDecodedTogetherEqualEachDecodedAlone() {
        List<int[]> alone = eachAlone(48);
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(8, 16, 512))) {
            List<RecordingSink> sinks = submitAll(engine, "together-", 48);
            for (int i = 0; i < PROMPTS.length; i++) {
                assertEquals(FinishReason.LENGTH, sinks.get(i).await());
                assertArrayEquals(alone.get(i), sinks.get(i).tokenArray(), "prompt " + i + " differs when batched");
            }
            assertTrue(engine.stats().lastBatchSize() > 1 || engine.stats().steps() > 0);
        }
    }

    @Test
    void promptsPrefilledTogetherInChunksEqualEachPrefilledAlone() {
        // A budget of 3 tokens per iteration: every prompt is split into chunks, chunks of several
        // prompts share a pass, and sequences already decoding keep stepping in between.
        List<int[]> alone = eachAlone(24);
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(8, 16, 3))) {
            List<RecordingSink> sinks = submitAll(engine, "chunked-", 24);
            for (int i = 0; i < PROMPTS.length; i++) {
                assertEquals(FinishReason.LENGTH, sinks.get(i).await());
                assertArrayEquals(alone.get(i), sinks.get(i).tokenArray(), "prompt " + i + " prefilled in chunks");
            }
        }
    }

    /** Greedy tokens of each prompt run alone (one slot, whole prompt in one pass). */
    static List<int[]> eachAlone(int maxTokens) {
        int[] each = new int[PROMPTS.length];
        java.util.Arrays.fill(each, maxTokens);
        return eachAlone(each);
    }

    static List<int[]> eachAlone(int[] maxTokens) {
        List<int[]> alone = new ArrayList<>();
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 16, 512))) {
            for (int i = 0; i < PROMPTS.length; i++) {
                RecordingSink sink = new RecordingSink();
                engine.submit(greedy("alone-" + i, PROMPTS[i], maxTokens[i]), sink);
                sink.await();
                alone.add(sink.tokenArray());
            }
        }
        return alone;
    }

    /** Submits every prompt at once, greedy, maxTokens each. */
    static List<RecordingSink> submitAll(EngineLoop engine, String idPrefix, int maxTokens) {
        List<RecordingSink> sinks = new ArrayList<>();
        for (int i = 0; i < PROMPTS.length; i++) {
            RecordingSink sink = new RecordingSink();
            sinks.add(sink);
            engine.submit(greedy(idPrefix + i, PROMPTS[i], maxTokens), sink);
        }
        return sinks;
    }

    @Test
    void staggeredArrivalsAndDeparturesStayExact() throws Exception {
        // Different lengths and a second wave leave holes in the slot range: exercises padded rows and the gather path.
        int[] maxTokens = {5, 40, 9, 33, 2, 27, 14, 21};
        List<int[]> alone = eachAlone(maxTokens);
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(6, 16, 512))) {
            List<RecordingSink> sinks = new ArrayList<>();
            for (int i = 0; i < PROMPTS.length; i++) {
                if (i == 5) {
                    while (sinks.get(4).tokenArray().length < maxTokens[4]) {
                        Thread.sleep(2); // second wave once the shortest has left a hole
                    }
                }
                RecordingSink sink = new RecordingSink();
                sinks.add(sink);
                engine.submit(greedy("wave-" + i, PROMPTS[i], maxTokens[i]), sink);
            }
            for (int i = 0; i < PROMPTS.length; i++) {
                sinks.get(i).await();
                assertArrayEquals(alone.get(i), sinks.get(i).tokenArray(), "prompt " + i);
            }
        }
    }

    @Test
    void referenceContinuationThroughTheLoop() {
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(4, 4, 512))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(greedy("ref", "Tom found a shiny key", 20), sink);
            assertEquals(FinishReason.LENGTH, sink.await());
            assertEquals(20, sink.completionTokens);
            String reference = ". He wanted to play with it. He tried to reach it, but it was too heavy for himself. He tried to reach it, "
                    + "but it was too heavy for him.\nTom tried to reach it.";
            assertTrue(reference.startsWith(sink.text.toString()), sink.text.toString());
            assertTrue(sink.text.length() > 40);
        }
    }

    @Test
    void stopStringEndsTheSequenceBeforeTheStopText() {
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(2, 4, 512))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(new GenerationRequest("stop", model.requireTokenizer().encode("Tom found a shiny key"), 40, SamplingParams.GREEDY,
                    List.of("reach")), sink);
            assertEquals(FinishReason.STOP, sink.await());
            assertEquals(". He wanted to play with it. He tried to ", sink.text.toString());
        }
    }

    @Test
    void promptPlusMaxTokensBeyondTheContextIsRejected() {
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 1, 512))) {
            var e = assertThrows(InvalidRequestException.class, () -> engine.submit(greedy("long", "Once", 512), new RecordingSink()));
            assertTrue(e.getMessage().contains("context length of 512"), e.getMessage());
        }
    }

    @Test
    void fullQueueIsReportedAsOverload() {
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 1, 512))) {
            List<RecordingSink> accepted = new ArrayList<>();
            assertThrows(EngineOverloadedException.class, () -> {
                for (int i = 0; i < 10; i++) {
                    RecordingSink sink = new RecordingSink();
                    engine.submit(greedy("q" + i, "Once upon a time", 200), sink);
                    accepted.add(sink);
                }
            });
            assertEquals(2, accepted.size(), "one running + one waiting fit");
            accepted.forEach(s -> engine.cancel("q" + accepted.indexOf(s)));
            for (RecordingSink s : accepted) {
                s.await();
            }
            RecordingSink after = new RecordingSink(); // capacity is given back once requests finish
            engine.submit(greedy("after", "Once upon a time", 3), after);
            assertEquals(FinishReason.LENGTH, after.await());
        }
    }

    @Test
    void cancelStopsARunningRequest() throws Exception {
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(2, 2, 512))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(greedy("c", "Once upon a time", 400), sink);
            while (sink.tokenArray().length < 2) {
                Thread.sleep(5);
            }
            engine.cancel("c");
            assertEquals(FinishReason.CANCELLED, sink.await());
            assertTrue(sink.completionTokens < 400);
        }
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfBatching() {
        SamplingParams params = new SamplingParams(1.0f, 40, 0.95f, 1234L);
        int[] first;
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 4, 512))) {
            RecordingSink sink = new RecordingSink();
            engine.submit(new GenerationRequest("s1", model.requireTokenizer().encode("The cat sat"), 30, params, List.of()), sink);
            sink.await();
            first = sink.tokenArray();
        }
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(4, 4, 512))) {
            RecordingSink other = new RecordingSink();
            engine.submit(greedy("other", "A big red dog", 30), other);
            RecordingSink sink = new RecordingSink();
            engine.submit(new GenerationRequest("s2", model.requireTokenizer().encode("The cat sat"), 30, params, List.of()), sink);
            sink.await();
            other.await();
            assertArrayEquals(first, sink.tokenArray());
        }
    }
}
