package dev.chorus.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The clients Chorus builds by hand carry a connection's security settings to a broker that authenticates. */
class AuthenticatedConnectionTest {
    private static KafkaConnection as(String bootstrap, String user, String password) {
        return new KafkaConnection(bootstrap, Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                        + "\" password=\"" + password + "\";"));
    }

    @Test
    void clientsAuthenticateWithTheConnectionsLoginAndAWrongOneIsRefused(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.startAuthenticated(dir, "chorus-registry", "s3cret")) {
            KafkaConnection registry = as(kafka.bootstrapServers(), "chorus-registry", "s3cret");
            try (Admin admin = Admin.create(registry.client(Map.of()))) {
                Topics.ensure(admin, (short) 1);
            }
            String topic = TopicNames.DEFAULTS.adapters();
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(registry.client(Map.of()), new StringSerializer(),
                    new ByteArraySerializer());
                    AdapterManifestLog log = new AdapterManifestLog(registry, TopicNames.DEFAULTS, null).start(Duration.ofSeconds(30))) {
                var sent = producer.send(new ProducerRecord<>(topic, "acme/pirate",
                        EventCodec.ADAPTER_MANIFEST.encode(AdapterManifestLogTest.manifest("pirate", 1, 1)))).get(30, TimeUnit.SECONDS);
                assertTrue(log.awaitApplied(new TopicPartition(topic, sent.partition()), sent.offset(), Duration.ofSeconds(10)));
                assertEquals(List.of(AdapterManifestLogTest.manifest("pirate", 1, 1)), log.all());
            }

            try (Admin wrong = Admin.create(as(kafka.bootstrapServers(), "chorus-registry", "guess").client(Map.of()))) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> wrong.listTopics().names().get(30, TimeUnit.SECONDS));
                assertInstanceOf(SaslAuthenticationException.class, e.getCause());
            }
            assertThrows(IllegalStateException.class, () -> new AdapterManifestLog(as(kafka.bootstrapServers(), "chorus-serving", "s3cret"),
                    TopicNames.DEFAULTS, null).start(Duration.ofSeconds(5)), "an unknown user cannot read the catalogue");
        }
    }
}
