package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.chorus.kafka.TrainingJobEvent;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.junit.jupiter.api.Test;

/**
 * A process as a job pod runs it (take-feedback off): it joins no feedback consumer group, and its job
 * mode runs only a job a Kubernetes runner started, recording how it ended.
 */
@QuarkusTest
@TestProfile(JobModeTest.JobPod.class)
@WithTestResource(EmbeddedKafkaResource.class)
class JobModeTest {
    public static class JobPod implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("chorus.training.take-feedback", "false");
        }
    }

    @EmbeddedKafkaResource.BootstrapServers
    String kafka;

    @Inject
    Jobs jobs;

    @Inject
    JobMode mode;

    @Test
    void runsOnlyAJobAKubernetesRunnerStartedAndRecordsItsEnd() {
        Instant t0 = Instant.parse("2026-12-01T10:00:00Z");
        assertEquals(JobMode.NOTHING_TO_RUN, mode.run("ftjob-unknown"));
        TrainingJobEvent queued = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "pirate", 2, 1, t0));
        assertEquals(JobMode.NOTHING_TO_RUN, mode.run(queued.jobId()), "a queued job is the scheduler's to start");
        TrainingJobEvent inProcess = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "space", 2, 1, t0).running("training-0", 0, 0, null, t0));
        assertEquals(JobMode.NOTHING_TO_RUN, mode.run(inProcess.jobId()), "another instance runs it");

        TrainingJobEvent started = jobs.publish(TrainingJobEvent.queued(Jobs.newId(), "acme", "poet", 2, 1, t0)
                .running(KubernetesRunner.RUNNER_PREFIX + "chorus-x", 0, 0, null, t0));
        // The test profile has no registry key: the job fails, and says why.
        assertEquals(JobMode.FAILED, mode.run(started.jobId()));
        TrainingJobEvent end = jobs.get(started.jobId()).orElseThrow();
        assertEquals(TrainingJobEvent.State.FAILED, end.state());
        assertEquals("registry_unavailable", end.errorCode());
    }

    @Inject
    KafkaClientService kafkaClients;

    @Test
    void takesNoFeedback() throws Exception {
        assertNull(kafkaClients.getConsumer("chorus.feedback"), "the feedback channel has a consumer");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka))) {
            List<String> groups = admin.listGroups().all().get().stream().map(GroupListing::groupId).toList();
            assertFalse(groups.contains("chorus-training"), "a job pod joined the feedback group: " + groups);
        }
    }
}
