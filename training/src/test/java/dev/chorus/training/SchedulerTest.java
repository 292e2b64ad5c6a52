package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.TrainingExample;
import dev.chorus.kafka.TrainingJobEvent;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Feedback makes a job due, the runner gets it, its success moves the marker, and only newer feedback makes the next one. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
@TestProfile(SchedulerTest.LowThresholds.class)
class SchedulerTest {
    public static class LowThresholds implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("chorus.training.trigger.new-examples", "3", "chorus.training.trigger.min-examples", "1",
                    "chorus.training.schedule-interval", "PT0.2S", "chorus.test.instant-runner", "true");
        }
    }

    @EmbeddedKafkaResource.BootstrapServers
    String kafka;

    @Inject
    Jobs jobs;

    @Inject
    InstantRunner runner;

    static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    List<TrainingJobEvent> jobsOf(String adapter) {
        return jobs.ready() ? jobs.list(t -> true).stream().filter(j -> j.adapter().equals(adapter)).toList() : List.of();
    }

    private int sent;

    /** Sends {@code count} likes whose event ids are not held out (10% are), so each counts as new training data. */
    void like(String adapter, int count) throws Exception {
        DatasetsApiTest sender = new DatasetsApiTest();
        sender.kafka = kafka;
        FeedbackEvent[] events = new FeedbackEvent[count];
        for (int i = 0; i < count; i++) {
            String id;
            do {
                id = "x-" + sent++;
            } while (TrainingExample.heldOut("acme", adapter, id));
            events[i] = DatasetsApiTest.event(adapter, id, "Tom " + sent, " ran.", 1, null);
        }
        sender.send(events);
    }

    @Test
    void feedbackTriggersAJobAndTheMarkerHoldsBackTheNext() throws Exception {
        String adapter = DatasetsApiTest.freshAdapter();
        like(adapter, 2);
        Thread.sleep(1000);
        assertEquals(List.of(), jobsOf(adapter), "two are below the threshold of three");
        like(adapter, 1);
        await("a succeeded job", () -> jobsOf(adapter).stream().anyMatch(j -> j.state() == TrainingJobEvent.State.SUCCEEDED));
        TrainingJobEvent done = jobsOf(adapter).get(0);
        assertTrue(runner.started().contains(done.jobId()));
        Instant marker = jobs.trainedThrough("acme", adapter).orElseThrow();
        assertEquals(done.trainedThrough(), marker);
        DatasetsApiTest.awaitDataset(adapter, r -> r.<Integer>path("counts.new_since_training") == 0);

        Thread.sleep(1000);
        assertEquals(1, jobsOf(adapter).size(), "nothing new since: no second job");
        like(adapter, 3);
        await("a second job", () -> jobsOf(adapter).size() == 2
                && jobsOf(adapter).stream().allMatch(j -> j.state() == TrainingJobEvent.State.SUCCEEDED));
    }
}
