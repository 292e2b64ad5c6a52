package dev.chorus.edge.kafka;

import dev.chorus.kafka.KafkaConnection;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Hands services the brokers' address and security settings as the plain value the kafka module takes. */
@ApplicationScoped
public class KafkaConnectionProducer {
    private static final Set<String> PROTOCOLS = Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");

    @Produces
    @Singleton
    KafkaConnection kafkaConnection(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
            KafkaSecurityConfig config) {
        return of(bootstrapServers, config);
    }

    /** The connection a configuration asks for; a protocol without what it needs is a configuration error. */
    static KafkaConnection of(String bootstrapServers, KafkaSecurityConfig config) {
        String protocol = config.securityProtocol().toUpperCase();
        if (!PROTOCOLS.contains(protocol)) {
            throw new IllegalArgumentException("chorus.kafka.security-protocol " + config.securityProtocol() + " is not one of " + PROTOCOLS);
        }
        Map<String, String> security = new LinkedHashMap<>();
        security.put("security.protocol", protocol);
        if (protocol.startsWith("SASL_")) {
            security.put("sasl.mechanism", config.saslMechanism().orElseThrow(() -> new IllegalArgumentException(
                    "chorus.kafka.security-protocol " + protocol + " needs chorus.kafka.sasl-mechanism")));
            security.put("sasl.jaas.config", config.saslJaasConfig().orElseThrow(() -> new IllegalArgumentException(
                    "chorus.kafka.security-protocol " + protocol + " needs chorus.kafka.sasl-jaas-config")));
        }
        if (protocol.endsWith("SSL")) {
            // As the channels get it (kafka.ssl.truststore.type=PEM in application.properties).
            security.put("ssl.truststore.type", "PEM");
            security.put("ssl.truststore.location", config.truststoreCertificates().orElseThrow(() -> new IllegalArgumentException(
                    "chorus.kafka.security-protocol " + protocol + " needs chorus.kafka.truststore-certificates (the brokers' CA, PEM)")));
        }
        return new KafkaConnection(bootstrapServers, security);
    }
}
