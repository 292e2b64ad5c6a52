package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.TrainingJobEvent;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Kubernetes runner against fabric8's mock API server (CRUD mode: it stores, lists and watches what it is given). */
@EnableKubernetesMockClient(crud = true)
class KubernetesRunnerTest {
    static KubernetesClient client;

    private static final String NS = "chorus";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
    private static final String POD_TEMPLATE = """
            spec:
              serviceAccountName: chorus-training-job
              nodeSelector:
                nvidia.com/gpu.present: "true"
              containers:
                - name: job
                  env:
                    - name: KAFKA_BOOTSTRAP_SERVERS
                      value: chorus-kafka-bootstrap:9093
                    - name: CHORUS_TRAINING_REGISTRY_API_KEY
                      valueFrom:
                        secretKeyRef: {name: chorus-operator, key: api-key}
                    - name: CHORUS_TRAINING_RUN_JOB
                      value: stale-from-the-template
                  volumeMounts:
                    - {name: models, mountPath: /models, readOnly: true}
              volumes:
                - name: models
                  persistentVolumeClaim: {claimName: chorus-models, readOnly: true}
            """;

    /** The jobs topic as the runner sees it. */
    static final class Records implements JobRecords {
        final Map<String, TrainingJobEvent> jobs = new ConcurrentHashMap<>();

        @Override
        public synchronized TrainingJobEvent publish(TrainingJobEvent job) {
            jobs.put(job.jobId(), job);
            notifyAll();
            return job;
        }

        @Override
        public Optional<TrainingJobEvent> get(String jobId) {
            return Optional.ofNullable(jobs.get(jobId));
        }

        /** Waits until the job's record satisfies {@code until} (the runner records from its watch thread). */
        synchronized TrainingJobEvent await(String jobId, Predicate<TrainingJobEvent> until) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            for (TrainingJobEvent j = jobs.get(jobId); j == null || !until.test(j); j = jobs.get(jobId)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("job " + jobId + " is still " + j);
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return jobs.get(jobId);
        }
    }

    record Settings(Optional<String> image, Optional<String> namespace, Optional<String> podTemplate, String cpu, String memory,
            int gpus, Duration activeDeadline, Duration keepFinished) implements TrainingConfig.Kubernetes {
    }

    private final Records records = new Records();
    private KubernetesRunner runner;

    private KubernetesRunner runner(Path dir) throws Exception {
        Path template = Files.writeString(dir.resolve("pod-template.yaml"), POD_TEMPLATE);
        runner = new KubernetesRunner(client, new Settings(Optional.of("registry.example.com/chorus/training:0.1.0"), Optional.of(NS),
                Optional.of(template.toString()), "4", "16Gi", 1, Duration.ofHours(2), Duration.ofHours(1)), records, CLOCK);
        return runner;
    }

    @AfterEach
    void clean() {
        client.batch().v1().jobs().inNamespace(NS).delete();
    }

    private TrainingJobEvent queued(String id) {
        return records.publish(TrainingJobEvent.queued(id, "acme", "pirate", 3, 1, CLOCK.instant()));
    }

    private Job job(String id) {
        return client.batch().v1().jobs().inNamespace(NS).withName(JobTemplate.name(id)).get();
    }

    private void setCondition(String id, String type, String reason, String message) {
        Job job = job(id);
        job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType(type).withStatus("True")
                .withReason(reason).withMessage(message).build()).build());
        client.batch().v1().jobs().inNamespace(NS).resource(job).updateStatus();
    }

    @Test
    void aJobBecomesABatchJobWithTheImageResourcesEnvironmentAndVolumes(@TempDir Path dir) throws Exception {
        runner(dir).start(queued("ftjob-aaaaaaaaaaaaaaaaaaaaaaaa"));

        TrainingJobEvent running = records.get("ftjob-aaaaaaaaaaaaaaaaaaaaaaaa").orElseThrow();
        assertEquals(TrainingJobEvent.State.RUNNING, running.state());
        assertEquals("kubernetes/chorus-ftjob-aaaaaaaaaaaaaaaaaaaaaaaa", running.runner());
        Job job = job("ftjob-aaaaaaaaaaaaaaaaaaaaaaaa");
        assertEquals(Map.of("app.kubernetes.io/managed-by", "chorus-training", "chorus.dev/fine-tuning-job", "ftjob-aaaaaaaaaaaaaaaaaaaaaaaa"),
                job.getMetadata().getLabels());
        assertEquals(0, job.getSpec().getBackoffLimit());
        assertEquals(7200L, job.getSpec().getActiveDeadlineSeconds());
        assertEquals(3600, job.getSpec().getTtlSecondsAfterFinished());
        var pod = job.getSpec().getTemplate().getSpec();
        assertEquals("Never", pod.getRestartPolicy());
        assertEquals("chorus-training-job", pod.getServiceAccountName());
        assertEquals(Map.of("nvidia.com/gpu.present", "true"), pod.getNodeSelector());
        assertEquals("chorus-models", pod.getVolumes().get(0).getPersistentVolumeClaim().getClaimName());
        assertEquals("ftjob-aaaaaaaaaaaaaaaaaaaaaaaa", job.getSpec().getTemplate().getMetadata().getLabels().get("chorus.dev/fine-tuning-job"));

        Container c = pod.getContainers().get(0);
        assertEquals(1, pod.getContainers().size());
        assertEquals("registry.example.com/chorus/training:0.1.0", c.getImage());
        assertEquals("/models", c.getVolumeMounts().get(0).getMountPath());
        Map<String, EnvVar> env = c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
        assertEquals(5, env.size(), env.keySet().toString()); // the template's two, and the three the runner sets
        assertEquals("ftjob-aaaaaaaaaaaaaaaaaaaaaaaa", env.get("CHORUS_TRAINING_RUN_JOB").getValue(), "the job's id replaces the template's");
        assertEquals("false", env.get("CHORUS_TRAINING_TAKE_FEEDBACK").getValue());
        assertEquals("chorus-ftjob-aaaaaaaaaaaaaaaaaaaaaaaa", env.get("CHORUS_TRAINING_INSTANCE_ID").getValue());
        assertEquals("chorus-kafka-bootstrap:9093", env.get("KAFKA_BOOTSTRAP_SERVERS").getValue());
        assertEquals("chorus-operator", env.get("CHORUS_TRAINING_REGISTRY_API_KEY").getValueFrom().getSecretKeyRef().getName());
        assertNull(env.get("CHORUS_TRAINING_REGISTRY_API_KEY").getValue(), "the key stays in its Secret");
        assertEquals(Map.of("cpu", new Quantity("4"), "memory", new Quantity("16Gi"), "nvidia.com/gpu", new Quantity("1")),
                c.getResources().getRequests());
        assertEquals(Map.of("memory", new Quantity("16Gi"), "nvidia.com/gpu", new Quantity("1")), c.getResources().getLimits());
    }

    @Test
    void aFailedJobFailsTheFineTuningJobWithTheReason(@TempDir Path dir) throws Exception {
        runner(dir).start(queued("ftjob-bbbbbbbbbbbbbbbbbbbbbbbb"));
        setCondition("ftjob-bbbbbbbbbbbbbbbbbbbbbbbb", "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");

        TrainingJobEvent failed = records.await("ftjob-bbbbbbbbbbbbbbbbbbbbbbbb", j -> j.state().finished());
        assertEquals(TrainingJobEvent.State.FAILED, failed.state());
        assertEquals("job_pod_failed", failed.errorCode());
        assertTrue(failed.message().contains("DeadlineExceeded"), failed.message());
    }

    @Test
    void whatTheJobPodRecordedStandsWhenItsJobEnds(@TempDir Path dir) throws Exception {
        runner(dir);
        runner.start(queued("ftjob-cccccccccccccccccccccccc"));
        runner.start(queued("ftjob-dddddddddddddddddddddddd"));
        // The pods record their ends (the topic), then Kubernetes marks the Jobs complete and failed.
        TrainingJobEvent succeeded = records.publish(records.get("ftjob-cccccccccccccccccccccccc").orElseThrow()
                .succeeded(4, true, Map.of("eval_loss", 1.5), 1000L, CLOCK.instant(), CLOCK.instant()));
        TrainingJobEvent gated = records.publish(records.get("ftjob-dddddddddddddddddddddddd").orElseThrow()
                .failed("registry_unavailable", "the registry did not answer", CLOCK.instant()));
        setCondition("ftjob-cccccccccccccccccccccccc", "Complete", null, null);
        setCondition("ftjob-dddddddddddddddddddddddd", "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
        client.batch().v1().jobs().inNamespace(NS).withName(JobTemplate.name("ftjob-cccccccccccccccccccccccc")).delete(); // its TTL

        // A third job's failure is recorded, so the events of the first two have been seen by then.
        runner.start(queued("ftjob-eeeeeeeeeeeeeeeeeeeeeeee"));
        setCondition("ftjob-eeeeeeeeeeeeeeeeeeeeeeee", "Failed", "PodFailurePolicy", "OOMKilled");
        records.await("ftjob-eeeeeeeeeeeeeeeeeeeeeeee", j -> j.state().finished());
        assertEquals(succeeded, records.get("ftjob-cccccccccccccccccccccccc").orElseThrow());
        assertEquals(gated, records.get("ftjob-dddddddddddddddddddddddd").orElseThrow());
    }

    @Test
    void cancellingDeletesTheJobAndAVanishedJobFailsItsFineTuningJob(@TempDir Path dir) throws Exception {
        runner(dir);
        runner.start(queued("ftjob-ffffffffffffffffffffffff"));
        runner.start(queued("ftjob-000000000000000000000000"));

        assertTrue(runner.cancel("ftjob-ffffffffffffffffffffffff"));
        assertNull(job("ftjob-ffffffffffffffffffffffff"), "the Job is deleted");
        assertEquals(TrainingJobEvent.State.CANCELLED, records.get("ftjob-ffffffffffffffffffffffff").orElseThrow().state());
        assertFalse(runner.cancel("ftjob-ffffffffffffffffffffffff"), "an ended job cannot be cancelled");

        client.batch().v1().jobs().inNamespace(NS).withName(JobTemplate.name("ftjob-000000000000000000000000")).delete();
        TrainingJobEvent vanished = records.await("ftjob-000000000000000000000000", j -> j.state().finished());
        assertEquals(TrainingJobEvent.State.FAILED, vanished.state());
        assertEquals("job_vanished", vanished.errorCode());
        assertEquals(TrainingJobEvent.State.CANCELLED, records.get("ftjob-ffffffffffffffffffffffff").orElseThrow().state(),
                "the cancelled job's deletion is not taken as vanishing");
    }

    @Test
    void aJobKubernetesRefusesFailsAtOnce(@TempDir Path dir) throws Exception {
        runner(dir).start(queued("ftjob-111111111111111111111111"));
        records.publish(TrainingJobEvent.queued("ftjob-111111111111111111111111", "acme", "pirate", 3, 2, CLOCK.instant()));
        runner.start(records.get("ftjob-111111111111111111111111").orElseThrow()); // its Job's name is taken
        TrainingJobEvent refused = records.get("ftjob-111111111111111111111111").orElseThrow();
        assertEquals(TrainingJobEvent.State.FAILED, refused.state());
        assertEquals("runner_unavailable", refused.errorCode());
    }

    @Test
    void aMissingImageOrABrokenTemplateIsAConfigurationError(@TempDir Path dir) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new JobTemplate(new Settings(Optional.empty(),
                Optional.of(NS), Optional.empty(), "1", "1Gi", 0, Duration.ofHours(1), Duration.ofHours(1))));
        assertTrue(e.getMessage().contains("chorus.training.kubernetes.image"), e.getMessage());
        Path broken = Files.writeString(dir.resolve("broken.yaml"), "spec:\n  containers: 3\n");
        e = assertThrows(IllegalArgumentException.class, () -> new JobTemplate(new Settings(Optional.of("img"),
                Optional.of(NS), Optional.of(broken.toString()), "1", "1Gi", 0, Duration.ofHours(1), Duration.ofHours(1))));
        assertTrue(e.getMessage().contains("pod-template"), e.getMessage());
    }

    @AfterEach
    void stopRunner() {
        if (runner != null) {
            runner.informerClose();
        }
    }
}
