package dev.chorus.edge.kafka;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/**
 * How a service authenticates to the brokers, the same in every service; the address stays
 * kafka.bootstrap.servers. The messaging channels take the same settings (application.properties
 * passes them on as kafka.*), so every client of a process connects alike.
 */
@ConfigMapping(prefix = "chorus.kafka")
public interface KafkaSecurityConfig {
    /** PLAINTEXT (the local run), SSL, SASL_PLAINTEXT or SASL_SSL. */
    @WithDefault("PLAINTEXT")
    String securityProtocol();

    /** With a SASL protocol: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN. */
    Optional<String> saslMechanism();

    /** With a SASL protocol: the login module line (Strimzi writes it into a KafkaUser's Secret as sasl.jaas.config). */
    Optional<String> saslJaasConfig();

    /** With SSL (required then): a PEM file of the CA certificates the brokers' certificates chain to (Strimzi: the cluster CA's ca.crt). */
    Optional<String> truststoreCertificates();
}
