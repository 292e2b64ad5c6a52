package dev.chorus.registry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Everything the registry can be told; Kafka itself is found through kafka.bootstrap.servers. */
@ConfigMapping(prefix = "chorus")
public interface RegistryConfig {

    Registry registry();

    Auth auth();

    interface Registry {
        /** Where blobs live (content-addressed, relative to the working directory). */
        @WithDefault("data/registry/blobs")
        String blobDirectory();

        /** The base model adapters must fit (shapes, and its fingerprint when an adapter names one). */
        @WithDefault("../shared/models/TinyStories-656K")
        String baseModel();

        /** Largest accepted adapter rank. */
        @WithDefault("64")
        int maxRank();

        /** Largest accepted upload, and largest unpacked archive. */
        @WithDefault("134217728")
        long maxUploadBytes();

        /** How long a write waits for Kafka to take its manifest and for the catalogue to read it back. */
        @WithDefault("15s")
        Duration writeTimeout();
    }

    /** The same key scheme as serving: SHA-256 digests of bearer keys. */
    interface Auth {
        Map<String, Tenant> tenants();

        @WithDefault("true")
        boolean demoTenant();

        Optional<List<String>> adminKeySha256();

        interface Tenant {
            List<String> apiKeySha256();
        }
    }
}
