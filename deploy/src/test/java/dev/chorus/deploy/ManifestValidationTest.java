package dev.chorus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Every overlay renders, and every object in it validates; the validator rejects what it must. */
class ManifestValidationTest {
    static final List<String> OVERLAYS = Overlay.NAMES;
    static final ManifestValidator VALIDATOR = new ManifestValidator(
            Path.of(System.getProperty("test.shared.dir", "../../shared"), "k8s", "crds"));

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void everyRenderedObjectValidates(String name) {
        Overlay overlay = Overlay.of(name);
        Map<String, List<String>> problems = new TreeMap<>();
        for (ObjectNode o : overlay.objects) {
            List<String> p = VALIDATOR.problems(o);
            if (!p.isEmpty()) {
                problems.put(Overlay.describe(o), p);
            }
        }
        System.out.printf("overlay %s: %d objects rendered and validated%n", name, overlay.objects.size());
        assertTrue(problems.isEmpty(), name + ": " + problems);
        assertFalse(overlay.objects.isEmpty());
    }

    @Test
    void aMisspelledFieldInAKubernetesKindIsRejected() {
        ObjectNode deployment = Overlay.of("local").workload("chorus-serving").deepCopy();
        ObjectNode container = (ObjectNode) deployment.at("/spec/template/spec/containers/0");
        container.set("readinesProbe", container.remove("readinessProbe"));
        List<String> problems = VALIDATOR.problems(deployment);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("readinesProbe") && problems.get(0).contains(".spec.template.spec.containers[0]"),
                problems.toString());
    }

    @Test
    void aWrongTypeInAKubernetesKindIsRejected() {
        ObjectNode statefulSet = Overlay.of("local").workload("chorus-registry").deepCopy();
        ((ObjectNode) statefulSet.get("spec")).put("replicas", "one");
        List<String> problems = VALIDATOR.problems(statefulSet);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("replicas") || problems.get(0).contains("one"), problems.toString());
    }

    @Test
    void anUnknownKindIsRejected() {
        ObjectNode o = Overlay.of("local").get("Namespace", "chorus").deepCopy();
        o.put("kind", "Namespaces");
        assertEquals(1, VALIDATOR.problems(o).size());
    }

    @Test
    void aMisspelledFieldInACustomResourceIsRejected() {
        ObjectNode topic = Overlay.of("production").get("KafkaTopic", "chorus.feedback").deepCopy();
        ObjectNode spec = (ObjectNode) topic.get("spec");
        spec.set("partitons", spec.remove("partitions"));
        List<String> problems = VALIDATOR.problems(topic);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("partitons"), problems.toString());
    }

    @Test
    void aWrongTypeOrValueInACustomResourceIsRejected() {
        ObjectNode user = Overlay.of("production").get("KafkaUser", "chorus-training").deepCopy();
        ((ObjectNode) user.at("/spec/authorization/acls/0")).putArray("operations").add("Produce");
        ObjectNode scaled = Overlay.of("production").get("ScaledObject", "chorus-training").deepCopy();
        ((ObjectNode) scaled.get("spec")).put("maxReplicaCount", "three");
        List<String> problems = new ArrayList<>(VALIDATOR.problems(user));
        problems.addAll(VALIDATOR.problems(scaled));
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("Produce") || problems.get(0).contains("enum"), problems.toString());
        assertTrue(problems.get(1).contains("maxReplicaCount"), problems.toString());
    }

    @Test
    void aMissingRequiredFieldInACustomResourceIsRejected() {
        ObjectNode pool = Overlay.of("production").get("InferencePool", "chorus-serving").deepCopy();
        ((ObjectNode) pool.get("spec")).remove("targetPorts");
        assertEquals(1, VALIDATOR.problems(pool).size(), VALIDATOR.problems(pool).toString());
    }
}
