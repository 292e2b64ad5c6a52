package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.greedy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class ConcurrentCompletionsTest {
    private static final List<String> PROMPTS = List.of(
            "Tom found a shiny key", "Lily saw a big dog", "Once upon a time", "The cat sat on the mat",
            "Ben and Mia went to the park", "A little bird could not fly", "Sue had a red ball", "The sun was hot");

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    @Test
    void batchedGreedyRequestsMatchTheSameRequestsRunAlone() throws Exception {
        List<String> alone = new ArrayList<>();
        for (String prompt : PROMPTS) {
            alone.add(CompletionsTest.text(greedy(prompt, 40)));
        }
        double stepsBefore = ServingTestSupport.metric(ServingTestSupport.scrape(), "chorus_engine_decode_steps_total");
        ExecutorService pool = Executors.newFixedThreadPool(PROMPTS.size());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> together = new ArrayList<>();
            for (String prompt : PROMPTS) {
                together.add(pool.submit(() -> {
                    start.await();
                    return CompletionsTest.text(greedy(prompt, 40));
                }));
            }
            start.countDown();
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertEquals(alone.get(i), together.get(i).get(), "prompt " + PROMPTS.get(i));
            }
            // Run one by one these would take 8 x 39 decode steps; sharing steps proves they were batched.
            double steps = ServingTestSupport.metric(ServingTestSupport.scrape(), "chorus_engine_decode_steps_total") - stepsBefore;
            assertTrue(steps < PROMPTS.size() * 39 * 0.75, "decode steps " + steps);
        } finally {
            pool.shutdownNow();
        }
    }
}
