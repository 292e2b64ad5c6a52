package dev.chorus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Production runs fine-tuning jobs as Kubernetes Jobs: the runner's settings, the job pods' template (a
 * ConfigMap), and the RBAC that lets training create, watch and delete Jobs and read their pods' logs only.
 */
class TrainingJobsManifestTest {
    private static final Overlay PRODUCTION = Overlay.of("production");

    private static Map<String, JsonNode> env(JsonNode container) {
        Map<String, JsonNode> env = new TreeMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }

    private static JsonNode podTemplate() throws Exception {
        return Overlay.YAML.readTree(PRODUCTION.get("ConfigMap", "chorus-training-job").at("/data/pod-template.yaml").asText());
    }

    @Test
    void trainingRunsJobsOnKubernetesWithItsOwnImageAndTheTemplateFromTheConfigMap() {
        JsonNode training = PRODUCTION.workload("chorus-training");
        JsonNode container = ServiceManifestTest.container(PRODUCTION, ServiceConfig.of("chorus-training"));
        Map<String, JsonNode> env = env(container);
        assertEquals("kubernetes", env.get("CHORUS_TRAINING_RUNNER").path("value").asText());
        assertEquals(container.path("image").asText(), env.get("CHORUS_TRAINING_KUBERNETES_IMAGE").path("value").asText(),
                "job pods run the training image");
        String template = env.get("CHORUS_TRAINING_KUBERNETES_POD_TEMPLATE").path("value").asText();
        String mountedAt = null;
        for (JsonNode m : container.path("volumeMounts")) {
            if (template.startsWith(m.path("mountPath").asText() + "/")) {
                for (JsonNode v : training.at("/spec/template/spec/volumes")) {
                    if (v.path("name").asText().equals(m.path("name").asText())) {
                        mountedAt = v.at("/configMap/name").asText();
                    }
                }
            }
        }
        assertEquals("chorus-training-job", mountedAt, template + " comes from the ConfigMap");
        assertTrue(template.endsWith("/pod-template.yaml"));
        assertEquals("chorus-training", training.at("/spec/template/spec/serviceAccountName").asText());
        assertTrue(training.at("/spec/template/spec/automountServiceAccountToken").asBoolean());
    }

    @Test
    void theRoleGrantsExactlyWhatTheRunnerDoes() {
        Set<String> rules = new TreeSet<>();
        for (JsonNode rule : PRODUCTION.get("Role", "chorus-training-jobs").path("rules")) {
            for (JsonNode group : rule.path("apiGroups")) {
                for (JsonNode resource : rule.path("resources")) {
                    for (JsonNode verb : rule.path("verbs")) {
                        rules.add(group.asText() + "/" + resource.asText() + " " + verb.asText());
                    }
                }
            }
        }
        // KubernetesRunner: create and delete Jobs, an informer (list + watch, get), pods listed and their log read.
        assertEquals(Set.of("batch/jobs create", "batch/jobs delete", "batch/jobs get", "batch/jobs list", "batch/jobs watch",
                "/pods get", "/pods list", "/pods/log get"), rules);
        ObjectNode binding = PRODUCTION.get("RoleBinding", "chorus-training-jobs");
        assertEquals("chorus-training-jobs", binding.at("/roleRef/name").asText());
        assertEquals("Role", binding.at("/roleRef/kind").asText());
        assertEquals(1, binding.path("subjects").size());
        assertEquals("chorus-training", binding.at("/subjects/0/name").asText());
        assertEquals("chorus", binding.at("/subjects/0/namespace").asText());
        assertEquals(1, PRODUCTION.ofKind("RoleBinding").count() + PRODUCTION.ofKind("ClusterRoleBinding").count(),
                "no other service may use the API");
    }

    @Test
    void theJobPodTemplateIsAValidPodTemplateWhoseSettingsTrainingReads() throws Exception {
        JsonNode template = podTemplate();
        List<String> problems = ManifestValidationTest.VALIDATOR.problems(template, PodTemplateSpec.class);
        assertTrue(problems.isEmpty(), problems.toString());
        JsonNode container = template.at("/spec/containers/0");
        assertEquals("job", container.path("name").asText(), "the runner fills the container named job");
        ServiceConfig training = ServiceConfig.of("chorus-training");
        List<String> unread = new ArrayList<>();
        env(container).forEach((name, e) -> {
            if ((name.startsWith("CHORUS_") || name.startsWith("KAFKA_")) && !training.reads(name)) {
                unread.add(name);
            }
            if (name.contains("KEY") || name.contains("JAAS")) {
                assertFalse(e.has("value"), name + " is inlined");
            }
        });
        assertTrue(unread.isEmpty(), "the job pods' variables training does not read: " + unread);
        assertEquals("chorus-training", env(container).get("CHORUS_KAFKA_SASL_JAAS_CONFIG").at("/valueFrom/secretKeyRef/name").asText(),
                "job pods log in to Kafka as training");
        // They reach Kafka and the registry, and nothing in the cluster's API.
        assertEquals("true", template.at("/metadata/labels/chorus.dev~1kafka-client").asText());
        assertFalse(template.at("/spec/automountServiceAccountToken").asBoolean(true));
        Set<String> registryPeers = new TreeSet<>();
        PRODUCTION.get("NetworkPolicy", "chorus-registry").at("/spec/ingress/0/from")
                .forEach(p -> registryPeers.add(p.at("/podSelector/matchLabels/app.kubernetes.io~1name").asText()));
        assertTrue(registryPeers.contains(template.at("/metadata/labels/app.kubernetes.io~1name").asText()), registryPeers.toString());
    }

    @Test
    void aBrokenPodTemplateIsRejected() throws Exception {
        ObjectNode template = (ObjectNode) podTemplate();
        ((ObjectNode) template.at("/spec/containers/0")).put("imagePullPolcy", "Always");
        List<String> problems = ManifestValidationTest.VALIDATOR.problems(template, PodTemplateSpec.class);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("imagePullPolcy"), problems.toString());
    }
}
