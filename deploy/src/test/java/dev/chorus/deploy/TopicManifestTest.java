package dev.chorus.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.Topics;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The KafkaTopics are the topic catalogue: the same names, partitions and configs as {@link Topics}. */
class TopicManifestTest {
    static final List<String> OVERLAYS = Overlay.NAMES;

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void kafkaTopicsAreTheCatalogue(String name) {
        Overlay overlay = Overlay.of(name);
        Map<String, String> expected = new TreeMap<>();
        for (Topics t : Topics.values()) {
            NewTopic topic = t.newTopic(TopicNames.DEFAULTS.of(t), (short) 1);
            expected.put(topic.name(), topic.numPartitions() + " partitions " + new TreeMap<>(topic.configs()));
        }
        Map<String, String> actual = overlay.ofKind("KafkaTopic").collect(Collectors.toMap(
                o -> o.at("/metadata/name").asText(),
                o -> o.at("/spec/partitions").asInt() + " partitions " + configs(o.at("/spec/config")),
                (a, b) -> a, TreeMap::new));
        assertEquals(expected, actual);
        overlay.ofKind("KafkaTopic").forEach(t -> assertEquals("chorus", t.at("/metadata/labels/strimzi.io~1cluster").asText(),
                Overlay.describe(t) + " must belong to the chorus cluster"));
    }

    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void replicationFitsTheBrokers(String name) {
        Overlay overlay = Overlay.of(name);
        int brokers = overlay.ofKind("KafkaNodePool")
                .filter(p -> p.at("/spec/roles").toString().contains("\"broker\""))
                .mapToInt(p -> p.at("/spec/replicas").asInt()).sum();
        JsonNode config = overlay.get("Kafka", "chorus").at("/spec/kafka/config");
        int minInSync = config.path("min.insync.replicas").asInt();
        overlay.ofKind("KafkaTopic").forEach(t -> {
            int replicas = t.at("/spec/replicas").asInt();
            assertEquals(Math.min(brokers, 3), replicas, Overlay.describe(t));
            assertEquals(replicas == 1 ? 1 : replicas - 1, minInSync, "min.insync.replicas with " + replicas + " replicas");
        });
        assertEquals(Math.min(brokers, 3), config.path("offsets.topic.replication.factor").asInt());
        assertEquals(Math.min(brokers, 3), config.path("transaction.state.log.replication.factor").asInt());
    }

    private static TreeMap<String, String> configs(JsonNode config) {
        TreeMap<String, String> m = new TreeMap<>();
        config.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }

}
