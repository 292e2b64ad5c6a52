package dev.chorus.edge.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.KafkaConnection;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KafkaConnectionProducerTest {
    private static final String JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"chorus-serving\" password=\"s3cret\";";

    record Settings(String securityProtocol, Optional<String> saslMechanism, Optional<String> saslJaasConfig,
            Optional<String> truststoreCertificates) implements KafkaSecurityConfig {
    }

    @Test
    void plaintextAddsOnlyTheProtocol() {
        KafkaConnection c = KafkaConnectionProducer.of("kafka:9092", new Settings("PLAINTEXT", Optional.empty(), Optional.empty(), Optional.empty()));
        assertEquals(Map.of("bootstrap.servers", "kafka:9092", "security.protocol", "PLAINTEXT", "acks", "all"),
                c.client(Map.of("acks", "all")));
    }

    @Test
    void scramOverTlsGivesEveryClientTheLoginAndTheClusterCa() {
        KafkaConnection c = KafkaConnectionProducer.of("kafka:9093", new Settings("sasl_ssl", Optional.of("SCRAM-SHA-512"),
                Optional.of(JAAS), Optional.of("/etc/chorus/kafka-ca/ca.crt")));
        assertEquals(Map.of("bootstrap.servers", "kafka:9093", "security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", JAAS, "ssl.truststore.type", "PEM", "ssl.truststore.location", "/etc/chorus/kafka-ca/ca.crt",
                "isolation.level", "read_committed"), c.client(Map.of("isolation.level", "read_committed")));
        assertFalse(c.toString().contains("s3cret"), "the password must not reach a log line: " + c);
        assertTrue(c.toString().contains("SASL_SSL"));
    }

    @Test
    void aClientCannotOverrideTheConnection() {
        KafkaConnection c = KafkaConnection.plaintext("kafka:9092");
        assertThrows(IllegalArgumentException.class, () -> c.client(Map.of("bootstrap.servers", "elsewhere:9092")));
    }

    @Test
    void aSaslProtocolWithoutItsLoginIsAConfigurationError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaConnectionProducer.of("kafka:9093",
                new Settings("SASL_SSL", Optional.of("SCRAM-SHA-512"), Optional.empty(), Optional.empty())));
        assertTrue(e.getMessage().contains("chorus.kafka.sasl-jaas-config"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> KafkaConnectionProducer.of("kafka:9093",
                new Settings("SSL", Optional.empty(), Optional.empty(), Optional.empty())));
        assertTrue(e.getMessage().contains("chorus.kafka.truststore-certificates"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> KafkaConnectionProducer.of("kafka:9093",
                new Settings("TLS", Optional.empty(), Optional.empty(), Optional.empty())));
        assertTrue(e.getMessage().contains("security-protocol"), e.getMessage());
    }
}
