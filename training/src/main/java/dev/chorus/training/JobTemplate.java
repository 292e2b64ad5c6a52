package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code batch/v1} Job of one fine-tuning job: the configured pod template (environment, volumes,
 * scheduling) with the training image in job mode, the job's id, the configured resources, and labels
 * the runner finds its Jobs by. One pod, never restarted: a retry is a new attempt the service decides on.
 */
final class JobTemplate {
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String RUNNER = "chorus-training";
    /** The fine-tuning job's id on the Job and its pod. */
    static final String JOB_ID = "chorus.dev/fine-tuning-job";
    static final String CONTAINER = "job";
    static final String GPU = "nvidia.com/gpu";
    /** Set per job here, whatever the template says. */
    private static final Set<String> JOB_ENV = Set.of("CHORUS_TRAINING_RUN_JOB", "CHORUS_TRAINING_TAKE_FEEDBACK", "CHORUS_TRAINING_INSTANCE_ID");

    private final String image;
    private final String podTemplate; // YAML, read once; parsed afresh per Job
    private final TrainingConfig.Kubernetes config;
    private final KubernetesSerialization yaml = new KubernetesSerialization();

    JobTemplate(TrainingConfig.Kubernetes config) {
        this.config = config;
        this.image = config.image().orElseThrow(() -> new IllegalArgumentException(
                "chorus.training.runner=kubernetes needs chorus.training.kubernetes.image (the training image)"));
        this.podTemplate = config.podTemplate().map(JobTemplate::read).orElse("{}");
        pod(); // a template that does not parse fails the start, not the first job
        if (config.gpus() < 0) {
            throw new IllegalArgumentException("chorus.training.kubernetes.gpus must be 0 or more, not " + config.gpus());
        }
    }

    /** The Job's name: the job id is already a DNS label (ftjob-&lt;24 hex&gt;). */
    static String name(String jobId) {
        return "chorus-" + jobId.toLowerCase().replaceAll("[^a-z0-9-]", "-");
    }

    Job job(TrainingJobEvent running) {
        String name = name(running.jobId());
        Map<String, String> labels = Map.of(MANAGED_BY, RUNNER, JOB_ID, running.jobId());
        PodTemplateSpec pod = pod();
        Map<String, String> podLabels = new HashMap<>(pod.getMetadata() == null || pod.getMetadata().getLabels() == null
                ? Map.of() : pod.getMetadata().getLabels());
        podLabels.putAll(labels);
        Container container = pod.getSpec().getContainers().stream().filter(c -> CONTAINER.equals(c.getName())).findFirst()
                .orElseGet(() -> {
                    Container c = new Container();
                    c.setName(CONTAINER);
                    pod.getSpec().getContainers().add(c);
                    return c;
                });
        container.setImage(image);
        List<EnvVar> env = new ArrayList<>(container.getEnv() == null ? List.of() : container.getEnv());
        env.removeIf(e -> JOB_ENV.contains(e.getName()));
        env.add(new EnvVar("CHORUS_TRAINING_RUN_JOB", running.jobId(), null));
        env.add(new EnvVar("CHORUS_TRAINING_TAKE_FEEDBACK", "false", null)); // the service's instances take it
        // Its own transactional id (chorus-training-<instance>): a job pod never fences a service instance.
        env.add(new EnvVar("CHORUS_TRAINING_INSTANCE_ID", name, null));
        container.setEnv(env);
        container.setResources(resources());
        pod.getSpec().setRestartPolicy("Never");
        return new JobBuilder()
                .withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewSpec()
                .withBackoffLimit(0)
                .withActiveDeadlineSeconds(config.activeDeadline().toSeconds())
                .withTtlSecondsAfterFinished((int) config.keepFinished().toSeconds())
                .withNewTemplate().withNewMetadata().withLabels(podLabels).endMetadata().withSpec(pod.getSpec()).endTemplate()
                .endSpec()
                .build();
    }

    private ResourceRequirements resources() {
        Map<String, Quantity> requests = new HashMap<>(Map.of("cpu", new Quantity(config.cpu()), "memory", new Quantity(config.memory())));
        Map<String, Quantity> limits = new HashMap<>(Map.of("memory", new Quantity(config.memory())));
        if (config.gpus() > 0) {
            requests.put(GPU, new Quantity(Integer.toString(config.gpus())));
            limits.put(GPU, new Quantity(Integer.toString(config.gpus())));
        }
        ResourceRequirements r = new ResourceRequirements();
        r.setRequests(requests);
        r.setLimits(limits);
        return r;
    }

    private PodTemplateSpec pod() {
        PodTemplateSpec pod;
        try {
            pod = yaml.unmarshal(podTemplate, PodTemplateSpec.class);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("chorus.training.kubernetes.pod-template is not a pod template: " + e.getMessage(), e);
        }
        if (pod == null) {
            pod = new PodTemplateSpec();
        }
        if (pod.getSpec() == null) {
            pod.setSpec(new io.fabric8.kubernetes.api.model.PodSpec());
        }
        if (pod.getSpec().getContainers() == null) {
            pod.getSpec().setContainers(new ArrayList<>());
        }
        return pod;
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read chorus.training.kubernetes.pod-template " + file + ": " + e.getMessage(), e);
        }
    }
}
