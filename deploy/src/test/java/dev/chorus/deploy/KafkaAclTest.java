package dev.chorus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.Topics;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Each service's KafkaUser grants exactly what the service does: its messaging channels (read from its
 * application.properties) plus the clients it builds itself (listed here with the class that builds them).
 */
class KafkaAclTest {
    private static final Overlay PRODUCTION = Overlay.of("production");
    private static final Pattern CHANNEL = Pattern.compile("mp\\.messaging\\.(incoming|outgoing)\\.\"?([^\".]+(?:\\.[^\".]+)*)\"?\\.([a-z.-]+)");
    private static final Pattern DEFAULT = Pattern.compile("\\$\\{[^:}]+:([^}]*)}");
    private static final String ADAPTERS = TopicNames.ADAPTERS;
    private static final String DEAD_LETTER = TopicNames.DEAD_LETTER;

    /** Clients built by hand (not messaging channels): who, what, and where in the code. */
    private static final Map<String, List<String>> DIRECT_CLIENTS = Map.of(
            "chorus-registry", List.of(
                    "topic " + ADAPTERS + " Write", // Catalogue's producer
                    "topic " + ADAPTERS + " Read", // AdapterManifestLog: the catalogue
                    "topic " + DEAD_LETTER + " Write"), // AdapterManifestLog's dead letters
            "chorus-serving", List.of(
                    "topic " + ADAPTERS + " Read", // RegistryAdapters' AdapterManifestLog
                    "topic " + DEAD_LETTER + " Write"),
            "chorus-training", List.of(
                    "topic " + TopicNames.TRAINING_JOBS + " Read", // Jobs' TopicTail
                    "topic " + TopicNames.TRAINING_JOBS + " Write", // Jobs' producer
                    "topic " + TopicNames.TRAINING_EXAMPLES + " Read", // Datasets' TopicTail
                    "topic " + TopicNames.TRAINING_EXAMPLES + " Write", // Erasures' tombstones
                    "topic " + ADAPTERS + " Read", // ReMerger's AdapterManifestLog
                    "topic " + DEAD_LETTER + " Write")); // ExampleWriter's dead letters, in its transaction; the re-merger's log's

    @Test
    void eachServicesAclsAreExactlyWhatItReadsAndWrites() {
        for (ServiceConfig service : ServiceConfig.ALL) {
            Set<String> expected = new TreeSet<>(DIRECT_CLIENTS.get(service.workload()));
            expected.addAll(channels(service.applicationProperties()));
            if (service.workload().equals("chorus-registry")) {
                // Topics.ensure lists the catalogue's topics (and would create missing ones) at start.
                for (Topics t : Topics.values()) {
                    expected.add("topic " + TopicNames.DEFAULTS.of(t) + " Describe");
                }
            }
            withDescribe(expected);
            assertEquals(expected, acls(service.workload()), service.workload());
        }
    }

    @Test
    void theRegistryAloneWritesTheAdaptersTopic() {
        Set<String> writers = new TreeSet<>();
        PRODUCTION.ofKind("KafkaUser").forEach(u -> {
            if (acls(u.at("/metadata/name").asText()).contains("topic " + ADAPTERS + " Write")) {
                writers.add(u.at("/metadata/name").asText());
            }
        });
        assertEquals(Set.of("chorus-registry"), writers);
    }

    @Test
    void kedaMayOnlyDescribeTheTrainingGroupAndFeedback() {
        assertEquals(Set.of("topic " + TopicNames.FEEDBACK + " Describe", "group chorus-training Describe"), acls("chorus-keda"));
        JsonNode trigger = PRODUCTION.get("ScaledObject", "chorus-training").at("/spec/triggers/0");
        JsonNode auth = PRODUCTION.get("TriggerAuthentication", trigger.at("/authenticationRef/name").asText()).path("spec");
        Map<String, String> params = new java.util.TreeMap<>();
        for (String kind : List.of("configMapTargetRef", "secretTargetRef")) {
            auth.path(kind).forEach(r -> params.put(r.path("parameter").asText(), kind + " " + r.path("name").asText() + " " + r.path("key").asText()));
        }
        assertEquals(Map.of("username", "configMapTargetRef chorus-keda-kafka username", "password", "secretTargetRef chorus-keda password",
                "ca", "secretTargetRef chorus-cluster-ca-cert ca.crt"), params);
        assertEquals("chorus-keda", PRODUCTION.get("ConfigMap", "chorus-keda-kafka").at("/data/username").asText(),
                "KEDA logs in as its own user");
        assertEquals("scram_sha512", trigger.at("/metadata/sasl").asText());
        assertEquals("enable", trigger.at("/metadata/tls").asText());
    }

    @Test
    void theListenerAuthenticatesAndTheBrokerAuthorises() {
        JsonNode kafka = PRODUCTION.get("Kafka", "chorus").at("/spec/kafka");
        assertEquals("simple", kafka.at("/authorization/type").asText());
        kafka.path("listeners").forEach(l -> {
            assertTrue(l.path("tls").asBoolean(), l.path("name").asText() + " is not TLS");
            assertEquals("scram-sha-512", l.at("/authentication/type").asText());
        });
        PRODUCTION.ofKind("KafkaUser").forEach(u -> assertEquals("scram-sha-512", u.at("/spec/authentication/type").asText()));
    }

    @Test
    void eachServiceConnectsAsItsOwnUserOverTheListener() {
        for (String overlayName : Overlay.NAMES) {
            Overlay overlay = Overlay.of(overlayName);
            JsonNode listener = overlay.get("Kafka", "chorus").at("/spec/kafka/listeners/0");
            boolean scram = listener.at("/authentication/type").asText().equals("scram-sha-512");
            for (ServiceConfig service : ServiceConfig.ALL) {
                Map<String, JsonNode> env = new java.util.HashMap<>();
                ServiceManifestTest.container(overlay, service).path("env").forEach(e -> env.put(e.path("name").asText(), e));
                String where = overlayName + " " + service.workload();
                assertEquals("chorus-kafka-bootstrap:" + listener.path("port").asInt(), env.get("KAFKA_BOOTSTRAP_SERVERS").path("value").asText(), where);
                String protocol = (scram ? "SASL_" : "") + (listener.path("tls").asBoolean() ? "SSL" : "PLAINTEXT");
                assertEquals(protocol, env.containsKey("CHORUS_KAFKA_SECURITY_PROTOCOL")
                        ? env.get("CHORUS_KAFKA_SECURITY_PROTOCOL").path("value").asText() : "PLAINTEXT", where);
                if (scram) {
                    assertEquals("SCRAM-SHA-512", env.get("CHORUS_KAFKA_SASL_MECHANISM").path("value").asText(), where);
                    JsonNode login = env.get("CHORUS_KAFKA_SASL_JAAS_CONFIG").at("/valueFrom/secretKeyRef");
                    assertEquals(service.workload(), login.path("name").asText(), where + " must log in as its own user");
                    assertEquals("sasl.jaas.config", login.path("key").asText(), where);
                    overlay.get("KafkaUser", service.workload());
                }
            }
        }
    }

    /** What a service's messaging channels do, as "type name Operation" entries. */
    static Set<String> channels(Properties properties) {
        Set<String> acls = new TreeSet<>();
        for (String key : properties.stringPropertyNames()) {
            Matcher m = CHANNEL.matcher(key);
            if (key.startsWith("%") || !m.matches()) {
                continue;
            }
            String value = resolveDefault(properties.getProperty(key));
            boolean incoming = m.group(1).equals("incoming");
            switch (m.group(3)) {
                case "topic" -> acls.add("topic " + value + (incoming ? " Read" : " Write"));
                case "group.id" -> acls.add("group " + value + " Read");
                case "transactional.id" -> acls.add("transactionalId " + value.substring(0, value.indexOf("${")) + "* Write");
                default -> { }
            }
        }
        return acls;
    }

    private static String resolveDefault(String value) {
        Matcher d = DEFAULT.matcher(value);
        return d.matches() ? d.group(1) : value;
    }

    /** Every resource used is described too (metadata, offsets, coordinators). */
    private static void withDescribe(Set<String> acls) {
        for (String acl : Set.copyOf(acls)) {
            acls.add(acl.substring(0, acl.lastIndexOf(' ')) + " Describe");
        }
    }

    static Set<String> acls(String user) {
        Set<String> acls = new TreeSet<>();
        for (JsonNode acl : PRODUCTION.get("KafkaUser", user).at("/spec/authorization/acls")) {
            assertTrue(acl.path("type").asText("allow").equals("allow"));
            String resource = acl.at("/resource/type").asText() + " " + acl.at("/resource/name").asText()
                    + (acl.at("/resource/patternType").asText().equals("prefix") ? "*" : "");
            acl.path("operations").forEach(op -> acls.add(resource + " " + op.asText()));
        }
        return acls;
    }
}
