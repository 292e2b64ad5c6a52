package dev.chorus.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterManifestLogTest {

    static AdapterManifest manifest(String name, int active, int... versions) {
        List<AdapterManifest.Version> vs = java.util.Arrays.stream(versions).mapToObj(v -> new AdapterManifest.Version(v,
                Integer.toHexString(v).repeat(64).substring(0, 64).replaceAll("[^0-9a-f]", "a"), 10, "lora", 4, List.of("q_proj"), null,
                Instant.EPOCH)).toList();
        return new AdapterManifest(AdapterManifest.SCHEMA_VERSION, "acme", name, active, versions[versions.length - 1] + 1, vs, Instant.EPOCH);
    }

    @Test
    void materialisesTheLatestStateSkipsBadRecordsIntoTheDeadLetterTopicAndTails(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir);
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()));
                KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                        new StringSerializer(), new ByteArraySerializer())) {
            Topics.ensure(admin, (short) 1);
            String topic = TopicNames.DEFAULTS.adapters();
            producer.send(new ProducerRecord<>(topic, "acme/pirate", EventCodec.ADAPTER_MANIFEST.encode(manifest("pirate", 1, 1)))).get();
            producer.send(new ProducerRecord<>(topic, "acme/pirate", "{\"schemaVersion\": 1, \"tenant\": ".getBytes(StandardCharsets.UTF_8))).get();
            producer.send(new ProducerRecord<>(topic, "acme/space", EventCodec.ADAPTER_MANIFEST.encode(manifest("pirate", 1, 1)))).get();
            producer.send(new ProducerRecord<>(topic, "acme/pirate", EventCodec.ADAPTER_MANIFEST.encode(manifest("pirate", 2, 1, 2)))).get();

            List<String> changes = new CopyOnWriteArrayList<>();
            try (AdapterManifestLog log = new AdapterManifestLog(KafkaConnection.plaintext(kafka.bootstrapServers()), TopicNames.DEFAULTS,
                    (before, after) -> changes.add(after.key() + "@" + after.activeVersion())).start(Duration.ofSeconds(30))) {
                assertEquals(List.of(manifest("pirate", 2, 1, 2)), log.all(), "latest state per key; bad records skipped");
                assertTrue(changes.isEmpty(), "the catch-up is not reported as changes");

                RecordMetadata sent = producer.send(new ProducerRecord<>(topic, "acme/pirate",
                        EventCodec.ADAPTER_MANIFEST.encode(manifest("pirate", 1, 1, 2)))).get();
                assertTrue(log.awaitApplied(new TopicPartition(topic, sent.partition()), sent.offset(), Duration.ofSeconds(10)));
                assertEquals(1, log.get("acme", "pirate").orElseThrow().activeVersion());
                assertEquals(List.of("acme/pirate@1"), changes);
            }

            List<ConsumerRecord<String, byte[]>> dead = readAll(kafka.bootstrapServers(), TopicNames.DEFAULTS.deadLetter(), 2);
            assertEquals(2, dead.size());
            assertEquals("1", header(dead.get(0), Topics.HEADER_SOURCE_OFFSET));
            assertTrue(header(dead.get(0), Topics.HEADER_REASON).contains("AdapterManifest"), header(dead.get(0), Topics.HEADER_REASON));
            assertTrue(header(dead.get(1), Topics.HEADER_REASON).contains("does not match"), "key and content disagree");
        }
    }

    static String header(ConsumerRecord<String, byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    static List<ConsumerRecord<String, byte[]>> readAll(String bootstrap, String topic, int expected) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, byte[]>> out = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }
}
