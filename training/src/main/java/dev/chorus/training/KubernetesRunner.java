package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.quarkus.arc.lookup.LookupIfProperty;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Runs each job as a {@code batch/v1} Job whose pod is this service's image in job mode (it trains,
 * publishes and records the job's end itself). This runner creates the Jobs and watches them: a Job
 * that fails before its pod could record an end (out of memory, deadline, image missing) or that
 * vanishes is recorded as the fine-tuning job's failure; cancelling a job deletes its Job.
 */
@ApplicationScoped
@LookupIfProperty(name = "chorus.training.runner", stringValue = "kubernetes")
public class KubernetesRunner implements JobRunner {
    private static final Logger LOG = Logger.getLogger(KubernetesRunner.class);
    /** A job this runner started records its Job as its runner, so a restart of the service does not take it as interrupted. */
    static final String RUNNER_PREFIX = "kubernetes/";
    private static final int LOG_LINES = 20;

    private final KubernetesClient client;
    private final String namespace;
    private final JobTemplate template;
    private final JobRecords records;
    private final Clock clock;
    private final Set<String> cancelled = ConcurrentHashMap.newKeySet(); // job ids whose Job this runner deletes
    private final SharedIndexInformer<Job> informer;

    @Inject
    public KubernetesRunner(TrainingConfig config, Jobs jobs, Clock clock) {
        this(new KubernetesClientBuilder().build(), config.kubernetes(), jobs, clock);
    }

    KubernetesRunner(KubernetesClient client, TrainingConfig.Kubernetes config, JobRecords records, Clock clock) {
        this.client = client;
        this.namespace = config.namespace().orElseGet(client::getNamespace);
        this.template = new JobTemplate(config);
        this.records = records;
        this.clock = clock;
        // Also lists the Jobs that exist now: what failed or vanished while this instance was down is recorded too.
        this.informer = client.batch().v1().jobs().inNamespace(namespace).withLabel(JobTemplate.MANAGED_BY, JobTemplate.RUNNER)
                .inform(new Watcher());
    }

    @Override
    public void start(TrainingJobEvent queued) {
        String name = JobTemplate.name(queued.jobId());
        TrainingJobEvent running;
        try {
            running = records.publish(queued.running(RUNNER_PREFIX + name, 0, 0, null, clock.instant()));
        } catch (JobEndedException e) {
            return; // cancelled before it could start
        }
        try {
            client.batch().v1().jobs().inNamespace(namespace).resource(template.job(running)).create();
            LOG.infof("started Job %s/%s for %s of %s", namespace, name, running.jobId(), running.adapterKey());
        } catch (KubernetesClientException e) {
            records.publish(running.failed("runner_unavailable", "cannot create Kubernetes Job " + name + ": " + e.getMessage(), clock.instant()));
        }
    }

    /** Stops a queued or running job: deletes its Job (and pod) and records it cancelled. False if it had ended. */
    public boolean cancel(String jobId) {
        Optional<TrainingJobEvent> job = records.get(jobId).filter(j -> !j.state().finished());
        if (job.isEmpty()) {
            return false;
        }
        stop(jobId);
        records.publish(job.get().cancelled("cancelled by an operator", clock.instant()));
        return true;
    }

    /** Deletes the Job (and its pod) of a job whose cancellation is recorded already. */
    public void stop(String jobId) {
        cancelled.add(jobId);
        client.batch().v1().jobs().inNamespace(namespace).withName(JobTemplate.name(jobId)).delete();
    }

    private final class Watcher implements ResourceEventHandler<Job> {
        @Override
        public void onAdd(Job job) {
            observe(job);
        }

        @Override
        public void onUpdate(Job before, Job job) {
            observe(job);
        }

        @Override
        public void onDelete(Job job, boolean finalStateUnknown) {
            String jobId = jobId(job);
            if (jobId == null || cancelled.remove(jobId) || condition(job, "Complete") || condition(job, "Failed")) {
                return; // cancelled here, or kept until its time after it ended
            }
            endIfUnfinished(jobId, "job_vanished", "Kubernetes Job " + job.getMetadata().getName() + " was deleted before the job ended");
        }
    }

    private void observe(Job job) {
        String jobId = jobId(job);
        if (jobId == null || !condition(job, "Failed")) {
            return; // running, or complete: its pod recorded the end before it exited
        }
        JobCondition failed = job.getStatus().getConditions().stream().filter(c -> "Failed".equals(c.getType())).findFirst().orElseThrow();
        endIfUnfinished(jobId, "job_pod_failed", "Kubernetes Job " + job.getMetadata().getName() + " failed (" + failed.getReason() + ": "
                + failed.getMessage() + ")" + podLog(job.getMetadata().getName()));
    }

    /** Records the failure unless the job already ended (its pod recorded why, or another instance did). */
    private void endIfUnfinished(String jobId, String code, String message) {
        try {
            Optional<TrainingJobEvent> job = records.get(jobId).filter(j -> !j.state().finished());
            if (job.isPresent()) {
                records.publish(job.get().failed(code, message, clock.instant()));
                LOG.warnf("job %s failed: %s", jobId, message);
            }
        } catch (JobsUnavailableException e) {
            LOG.warnf("cannot record that job %s failed (%s); the stale-job sweep will", jobId, e.getMessage());
        }
    }

    /** The end of the job pod's log, which usually says why it failed. */
    private String podLog(String jobName) {
        try {
            Optional<Pod> pod = client.pods().inNamespace(namespace).withLabel("batch.kubernetes.io/job-name", jobName).list().getItems()
                    .stream().max(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp() == null ? "" : p.getMetadata().getCreationTimestamp()));
            if (pod.isEmpty()) {
                return "";
            }
            String log = client.pods().inNamespace(namespace).withName(pod.get().getMetadata().getName()).tailingLines(LOG_LINES).getLog();
            return log == null || log.isBlank() ? "" : "; its log ends:\n" + log.strip();
        } catch (KubernetesClientException e) {
            return "";
        }
    }

    private static String jobId(Job job) {
        return job.getMetadata().getLabels() == null ? null : job.getMetadata().getLabels().get(JobTemplate.JOB_ID);
    }

    private static boolean condition(Job job, String type) {
        return job.getStatus() != null && job.getStatus().getConditions() != null && job.getStatus().getConditions().stream()
                .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** Stops watching (the client is the caller's to close). */
    void informerClose() {
        informer.close();
    }

    @PreDestroy
    void stop() {
        informer.close();
        client.close();
    }
}
