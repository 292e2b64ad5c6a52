package dev.chorus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The workloads against the services' code: ports, probes, environment, secrets, scraping, network policies. */
class ServiceManifestTest {
    static final List<String> OVERLAYS = Overlay.NAMES;
    private static final Map<String, String> PROBES = Map.of(
            "startupProbe", "/q/health/started", "readinessProbe", "/q/health/ready", "livenessProbe", "/q/health/live");

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void portsAreTheServicesHttpPorts(String name) {
        Overlay overlay = Overlay.of(name);
        for (ServiceConfig service : ServiceConfig.ALL) {
            int port = service.httpPort();
            JsonNode container = container(overlay, service);
            assertEquals(port, container.at("/ports/0/containerPort").asInt(), service.workload());
            assertEquals("http", container.at("/ports/0/name").asText(), service.workload());
            JsonNode svc = overlay.get("Service", service.workload());
            assertEquals(port, svc.at("/spec/ports/0/port").asInt(), service.workload());
            assertEquals("http", svc.at("/spec/ports/0/targetPort").asText(), service.workload());
            assertEquals(overlay.workload(service.workload()).at("/spec/selector/matchLabels"), svc.at("/spec/selector"));
        }
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void probesAskTheHealthEndpoints(String name) {
        Overlay overlay = Overlay.of(name);
        for (ServiceConfig service : ServiceConfig.ALL) {
            // Health stays on the HTTP port at /q/health (serving keeps it off its management interface explicitly).
            assertFalse(service.applicationProperties().stringPropertyNames().stream().anyMatch(k -> k.contains("smallrye-health")
                    && !(k.equals("quarkus.smallrye-health.management.enabled")
                            && "false".equals(service.applicationProperties().getProperty(k)))),
                    "a moved health root would need the probes moved too");
            JsonNode container = container(overlay, service);
            PROBES.forEach((probe, path) -> {
                assertEquals(path, container.at("/" + probe + "/httpGet/path").asText(), service.workload() + " " + probe);
                assertEquals("http", container.at("/" + probe + "/httpGet/port").asText(), service.workload() + " " + probe);
            });
        }
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void everyChorusAndKafkaVariableIsAPropertyTheServiceReads(String name) {
        Overlay overlay = Overlay.of(name);
        List<String> unread = new ArrayList<>();
        int checked = 0;
        for (ServiceConfig service : ServiceConfig.ALL) {
            for (JsonNode env : container(overlay, service).path("env")) {
                String var = env.path("name").asText();
                if (var.startsWith("CHORUS_") || var.startsWith("KAFKA_")) {
                    checked++;
                    if (!service.reads(var)) {
                        unread.add(service.workload() + " " + var);
                    }
                }
            }
        }
        assertTrue(unread.isEmpty(), "variables no service reads: " + unread);
        assertTrue(checked >= 15, "only " + checked + " variables checked");
    }

    @Test
    void theVariableCheckKnowsMapsAndRejectsMisspellings() {
        ServiceConfig serving = ServiceConfig.of("chorus-serving");
        assertTrue(serving.reads("CHORUS_MODEL_PATH"));
        assertTrue(serving.reads("CHORUS_ADAPTERS_REGISTRY_KEY"));
        assertTrue(serving.reads("CHORUS_AUTH_TENANTS_ACME_API_KEY_SHA256"));
        assertTrue(serving.reads("KAFKA_BOOTSTRAP_SERVERS"));
        assertFalse(serving.reads("CHORUS_MODEL_PAHT"));
        assertFalse(serving.reads("CHORUS_TRAINING_REGISTRY_URL"), "training's settings are not serving's");
        assertTrue(ServiceConfig.of("chorus-training").reads("CHORUS_TRAINING_TRIGGER_TENANTS_ACME_MAX_WAIT"));
        assertFalse(ServiceConfig.of("chorus-registry").reads("CHORUS_AUTH_TENANTS_API_KEY_SHA256_"));
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void keysComeFromSecretsNeverInline(String name) {
        Overlay overlay = Overlay.of(name);
        for (ServiceConfig service : ServiceConfig.ALL) {
            for (JsonNode env : container(overlay, service).path("env")) {
                String var = env.path("name").asText();
                if (var.contains("KEY") || var.contains("PASSWORD") || var.contains("JAAS")) {
                    assertFalse(env.has("value"), service.workload() + " " + var + " is inlined");
                    assertTrue(env.at("/valueFrom/secretKeyRef/name").isTextual(), service.workload() + " " + var);
                }
            }
        }
        if (name.equals("production")) {
            assertEquals(0, overlay.ofKind("Secret").count(), "production's secrets are the operator's, not the repository's");
            overlay.objects.forEach(o -> assertFalse(o.toString().contains("CHORUS_AUTH_DEMO_TENANT\",\"value\":\"true"),
                    Overlay.describe(o) + " turns the demo tenant on"));
        }
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void metricsAreScrapedOnTheManagementInterfacesFromTheMonitoringNamespaceOnly(String name) {
        Overlay overlay = Overlay.of(name);
        for (ServiceConfig service : ServiceConfig.ALL) {
            String workload = service.workload();
            int metricsPort = service.metricsPort();
            assertTrue(metricsPort != service.httpPort(), workload + " serves its metrics on a management interface");
            JsonNode annotations = overlay.workload(workload).at("/spec/template/metadata/annotations");
            assertEquals("true", annotations.path("prometheus.io/scrape").asText(), workload);
            assertEquals("/q/metrics", annotations.path("prometheus.io/path").asText(), workload);
            assertEquals(Integer.toString(metricsPort), annotations.path("prometheus.io/port").asText(), workload);
            JsonNode container = container(overlay, service);
            assertEquals(metricsPort, container.at("/ports/1/containerPort").asInt(), workload);
            assertEquals("management", container.at("/ports/1/name").asText(), workload);
            // Bound to localhost by the application; the pod network here, so that the scraper reaches it.
            assertEquals("127.0.0.1", service.applicationProperties().getProperty("quarkus.management.host"), workload);
            assertTrue(StreamSupport.stream(container.path("env").spliterator(), false).anyMatch(env ->
                    env.path("name").asText().equals("QUARKUS_MANAGEMENT_HOST") && env.path("value").asText().equals("0.0.0.0")), workload);
            // Never through the Service, and in the network policy only from the monitoring namespace.
            overlay.get("Service", workload).at("/spec/ports").forEach(p -> assertTrue(p.path("port").asInt() != metricsPort, workload));
            List<JsonNode> rules = new ArrayList<>();
            overlay.get("NetworkPolicy", workload).at("/spec/ingress").forEach(rule -> {
                if (StreamSupport.stream(rule.path("ports").spliterator(), false).anyMatch(p -> p.path("port").asInt() == metricsPort)) {
                    rules.add(rule);
                }
            });
            assertEquals(1, rules.size(), workload + ": one rule admits its metrics port");
            JsonNode from = rules.get(0).path("from");
            assertEquals(1, from.size(), workload);
            assertEquals("monitoring", from.at("/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name").asText(), workload);
            assertEquals(1, rules.get(0).path("ports").size(), workload + ": the monitoring namespace reaches the metrics port only");
        }
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void onlyServingIsReachableFromOutsideAndTheRegistryOnlyFromItsClients(String name) {
        Overlay overlay = Overlay.of(name);
        ObjectNode deny = overlay.get("NetworkPolicy", "default-deny-ingress");
        assertTrue(deny.at("/spec/podSelector").isEmpty() && !deny.at("/spec/ingress").isArray());
        JsonNode serving = overlay.get("NetworkPolicy", "chorus-serving").at("/spec/ingress/0");
        assertFalse(serving.has("from"), "serving takes traffic from anywhere");
        assertEquals(ServiceConfig.of("chorus-serving").httpPort(), serving.at("/ports/0/port").asInt());
        Set<String> registryPeers = new TreeSet<>();
        overlay.get("NetworkPolicy", "chorus-registry").at("/spec/ingress/0/from")
                .forEach(peer -> registryPeers.add(peer.at("/podSelector/matchLabels/app.kubernetes.io~1name").asText()));
        Set<String> expected = new TreeSet<>(Set.of("chorus-serving", "chorus-training"));
        if (overlay.find("ConfigMap", "chorus-training-job").isPresent()) {
            expected.add("chorus-training-job"); // fine-tuning Jobs' pods publish versions too
        }
        assertEquals(expected, registryPeers);
        // Every pod but serving's is covered by a policy that names its peers.
        overlay.ofKind("NetworkPolicy").filter(p -> !p.at("/metadata/name").asText().equals("chorus-serving"))
                .forEach(p -> p.at("/spec/ingress").forEach(rule -> assertTrue(rule.has("from"), Overlay.describe(p))));
        // Kafka listeners admit only pods marked as Kafka clients (and KEDA's namespace); every service is marked.
        overlay.get("Kafka", "chorus").at("/spec/kafka/listeners").forEach(l -> assertFalse(l.path("networkPolicyPeers").isEmpty()));
        for (ServiceConfig service : ServiceConfig.ALL) {
            assertEquals("true", overlay.workload(service.workload())
                    .at("/spec/template/metadata/labels/chorus.dev~1kafka-client").asText(), service.workload());
        }
    }

    static JsonNode container(Overlay overlay, ServiceConfig service) {
        JsonNode containers = overlay.workload(service.workload()).at("/spec/template/spec/containers");
        assertEquals(1, containers.size(), service.workload());
        return containers.get(0);
    }
}
