package dev.chorus.kafka;

import java.util.HashMap;
import java.util.Map;

/**
 * How every client of a process reaches the brokers: their address and the security settings
 * (security.protocol, SASL, trust store) a cluster that authenticates its clients asks for. The
 * settings are Kafka client properties, so a client built by hand connects as the messaging
 * channels do.
 */
public record KafkaConnection(String bootstrapServers, Map<String, String> security) {
    public KafkaConnection {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("no Kafka bootstrap servers");
        }
        security = Map.copyOf(security);
        if (security.containsKey("bootstrap.servers")) {
            throw new IllegalArgumentException("bootstrap.servers is not a security setting");
        }
    }

    /** A cluster that takes anyone on a plaintext listener (the local run, tests). */
    public static KafkaConnection plaintext(String bootstrapServers) {
        return new KafkaConnection(bootstrapServers, Map.of());
    }

    /** A client's configuration: the address, the security settings, then the client's own settings. */
    public Map<String, Object> client(Map<String, ?> settings) {
        Map<String, Object> config = new HashMap<>(security);
        config.put("bootstrap.servers", bootstrapServers);
        for (Map.Entry<String, ?> e : settings.entrySet()) {
            if (config.containsKey(e.getKey())) {
                throw new IllegalArgumentException(e.getKey() + " is the connection's to set, not a client's");
            }
            config.put(e.getKey(), e.getValue());
        }
        return config;
    }

    @Override
    public String toString() {
        return bootstrapServers + " (" + security.getOrDefault("security.protocol", "PLAINTEXT") + ")";
    }
}
