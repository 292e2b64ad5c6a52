package dev.chorus.serving.adapters;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterNotFoundException;
import dev.chorus.engine.adapter.AdapterStore;
import dev.chorus.engine.adapter.AdapterUnavailableException;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.AdapterManifestLog;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * Adapters as the registry publishes them: the catalogue is the adapters topic, read from
 * the beginning at start (a restart rebuilds it) and tailed; files come from the registry's blob
 * endpoint through a local cache. When a version becomes active the subscriber (the engine) is told,
 * so it prefetches it and the first request on it does not wait for the download; requests already
 * running keep their version. Before anyone subscribes (the replay at start) blobs are only fetched.
 */
public final class RegistryAdapters implements AdapterStore {
    private static final Logger LOG = Logger.getLogger(RegistryAdapters.class);

    private final AdapterManifestLog log;
    private final BlobCache blobs;
    private final ModelConfig base;
    private final int maxRank;
    private final String baseFingerprint;
    private volatile Changes changes; // null until the engine subscribes
    private final ExecutorService prefetcher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "chorus-adapter-prefetch");
        t.setDaemon(true);
        return t;
    });

    public RegistryAdapters(KafkaConnection kafka, TopicNames topics, BlobCache blobs, ModelConfig base, int maxRank, String baseFingerprint) {
        this.blobs = blobs;
        this.base = base;
        this.maxRank = maxRank;
        this.baseFingerprint = baseFingerprint;
        this.log = new AdapterManifestLog(kafka, topics, this::changed).start(Duration.ofSeconds(60));
        LOG.infof("adapter catalogue: %d adapters from Kafka %s", log.all().size(), kafka);
    }

    @Override
    public void subscribe(Changes subscriber) {
        this.changes = subscriber;
    }

    private void changed(AdapterManifest previous, AdapterManifest current) {
        boolean gone = current == null || current.deleted();
        boolean existed = previous != null && !previous.deleted();
        boolean newActive = !gone && (!existed || previous.activeVersion() != current.activeVersion());
        Changes subscriber = changes;
        if (subscriber != null) {
            if (existed) { // deleted versions (all of them when the adapter is deleted) leave the cache
                previous.versions().stream().filter(v -> gone || current.version(v.version()).isEmpty())
                        .forEach(v -> subscriber.removed(version(previous, v.version())));
            }
            if (newActive) {
                subscriber.activated(existed ? version(previous, previous.activeVersion()) : null, version(current, current.activeVersion()));
            }
            return;
        }
        if (gone) {
            return;
        }
        current.active().filter(v -> newActive).ifPresent(v -> prefetcher.submit(() -> {
            try {
                blobs.get(v.blobSha256());
                LOG.infof("prefetched %s@%d", current.key(), v.version());
            } catch (RuntimeException e) {
                LOG.warnf("prefetch of %s@%d failed: %s", current.key(), v.version(), e.getMessage());
            }
        }));
    }

    private static AdapterKey version(AdapterManifest m, int version) {
        return new AdapterKey(m.tenant(), m.name(), version);
    }

    @Override
    public List<Listing> adapters(String tenant) {
        return log.all().stream()
                .filter(m -> m.tenant().equals(tenant) && !m.deleted())
                .map(m -> new Listing(m.name(), m.versions().stream().map(AdapterManifest.Version::version).toList(), m.activeVersion()))
                .toList();
    }

    @Override
    public Optional<AdapterKey> resolve(String tenant, String name, OptionalInt version) {
        return log.get(tenant, name)
                .filter(m -> !m.deleted())
                .flatMap(m -> m.version(version.orElse(m.activeVersion())))
                .map(v -> new AdapterKey(tenant, name, v.version()));
    }

    @Override
    public Adapter load(AdapterKey key) {
        AdapterManifest.Version v = log.get(key.tenant(), key.name()).flatMap(m -> m.version(key.version()))
                .orElseThrow(() -> new AdapterNotFoundException(key));
        try {
            return AdapterFiles.read(blobs.get(v.blobSha256()), base, maxRank, baseFingerprint);
        } catch (AdapterUnavailableException e) {
            throw new AdapterUnavailableException("adapter " + key.name() + "@" + key.version() + " cannot be loaded now: " + e.getMessage(), e);
        } catch (AdapterFormatException e) {
            throw new AdapterFormatException("adapter " + key.name() + "@" + key.version() + " is unusable: "
                    + e.getMessage().replaceAll("^\\S*/" + v.blobSha256() + "/?:? ?", ""), e);
        }
    }

    /** The catalogue's entry of one version, if it is (still) there. */
    public Optional<AdapterManifest.Version> version(AdapterKey key) {
        return log.get(key.tenant(), key.name()).filter(m -> !m.deleted()).flatMap(m -> m.version(key.version()));
    }

    BlobCache blobs() {
        return blobs;
    }

    /** Whether the version's blob is on local disk already: then loading it never waits for the registry. */
    @Override
    public boolean local(AdapterKey key) {
        return log.get(key.tenant(), key.name()).flatMap(m -> m.version(key.version()))
                .map(v -> blobs.cached(v.blobSha256())).orElse(true);
    }

    /** Whether the catalogue still follows the topic. */
    public boolean healthy() {
        return log.healthy();
    }

    @Override
    public void close() {
        prefetcher.shutdownNow();
        log.close();
    }
}
