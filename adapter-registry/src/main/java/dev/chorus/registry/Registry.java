package dev.chorus.registry;

import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/** Owns the registry's parts for the application's lifetime: the blob store, upload validation and the catalogue. */
@ApplicationScoped
public class Registry {
    private static final Logger LOG = Logger.getLogger(Registry.class);

    private final RegistryConfig config;
    private final TopicNames topics;
    private final KafkaConnection kafka;
    private BlobStore blobs;
    private AdapterUpload uploads;
    private MergedUpload mergedUploads;
    private Catalogue catalogue;
    private Semaphore validations;

    public Registry(RegistryConfig config, TopicNames topics, KafkaConnection kafka) {
        this.config = config;
        this.topics = topics;
        this.kafka = kafka;
    }

    /** At startup, not lazily: a registry that cannot read its catalogue must not take requests. */
    void onStart(@Observes StartupEvent event) {
        Path base = Path.of(config.baseModel());
        ModelConfig baseConfig = Files.isDirectory(base) ? HfCheckpoint.readConfig(base) : Llama2cCheckpoint.read(base).config();
        String fingerprint = Fingerprint.of(base);
        blobs = new BlobStore(Path.of(config.blobDirectory()));
        uploads = new AdapterUpload(baseConfig, fingerprint, config.maxRank(), config.maxUploadBytes());
        mergedUploads = new MergedUpload(baseConfig, fingerprint, config.maxMergedBytes());
        catalogue = new Catalogue(kafka, topics, blobs, config.writeTimeout());
        validations = new Semaphore(config.maxConcurrentUploads(), true);
        LOG.infof("adapter registry for base %s (%s), blobs in %s, Kafka %s", base.getFileName(), fingerprint,
                Path.of(config.blobDirectory()).toAbsolutePath().normalize(), kafka);
    }

    void onStop(@Observes ShutdownEvent event) {
        if (catalogue != null) {
            catalogue.close();
        }
    }

    public BlobStore blobs() {
        return blobs;
    }

    public AdapterUpload uploads() {
        return uploads;
    }

    MergedUpload mergedUploads() {
        return mergedUploads;
    }

    public Catalogue catalogue() {
        return catalogue;
    }

    /**
     * Runs one upload's (adapter or merged model) unpacking and validation in one of the bounded places (memory and disk grow
     * with each), waiting up to 30 s for one; {@link UploadsBusyException} after that.
     */
    public <T> T validating(Supplier<T> work) {
        try {
            if (!validations.tryAcquire(30, TimeUnit.SECONDS)) {
                throw new UploadsBusyException("the registry is validating " + config.maxConcurrentUploads() + " uploads; retry shortly");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UploadsBusyException("interrupted while waiting to validate an upload");
        }
        try {
            return work.get();
        } finally {
            validations.release();
        }
    }

    /** Versions in the catalogue whose blob was found damaged and withdrawn (status "unusable"); 0 before startup. */
    public int unusableVersions() {
        if (catalogue == null) {
            return 0;
        }
        Set<String> damaged = blobs.damaged();
        if (damaged.isEmpty()) {
            return 0;
        }
        int count = 0;
        for (AdapterManifest m : catalogue.list(null)) {
            for (AdapterManifest.Version v : m.versions()) {
                if (damaged.contains(v.blobSha256())) {
                    count++;
                }
            }
        }
        return count;
    }

    public long maxUploadBytes() {
        return config.maxUploadBytes();
    }

    public long maxMergedBytes() {
        return config.maxMergedBytes();
    }
}
