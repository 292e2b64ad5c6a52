package dev.chorus.registry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/**
 * What the registry itself can be told; keys (chorus.auth.*) and topic names (chorus.topics.*) are
 * the service edge's, Kafka is found through kafka.bootstrap.servers.
 */
@ConfigMapping(prefix = "chorus.registry")
public interface RegistryConfig {
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

    /**
     * Largest accepted merged artifact (a version's merged compressed checkpoint, zipped), and largest
     * unpacked one; held in memory while it is checked, like an upload.
     */
    @WithDefault("1073741824")
    long maxMergedBytes();

    /** Uploads unpacked and validated at once (each may hold up to max-upload-bytes); more wait up to 30 s, then get 429. */
    @WithDefault("2")
    int maxConcurrentUploads();

    /** How long a write waits for Kafka to take its manifest and for the catalogue to read it back. */
    @WithDefault("15s")
    Duration writeTimeout();
}
