package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.AdapterManifestLog;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.Sha256;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The adapter catalogue and its only writer. State lives on the compacted adapters topic; this
 * class materialises it at start, and every change is read–modify–publish under its adapter's lock
 * (the single-writer guarantee is per key, so tenants never queue behind each other): the blob is
 * durable before its manifest is produced (idempotent producer, acks=all), and a change returns
 * only once the manifest has been read back. Every write is bounded end to end by the write
 * timeout (lock wait, metadata, delivery, read-back); the blob of an upload whose manifest Kafka
 * refused is removed at once.
 */
public final class Catalogue implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Catalogue.class);

    private final String topic;
    private final BlobStore blobs;
    private final Duration timeout;
    private final AdapterManifestLog log;
    private final KafkaProducer<String, AdapterManifest> producer;
    private final Admin admin;
    private final Writability writability;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>(); // by tenant/name
    private final Map<String, Integer> pendingBlobs = new ConcurrentHashMap<>(); // stored, their manifest not yet applied
    private final Object collecting = new Object();

    public Catalogue(KafkaConnection kafka, TopicNames topics, BlobStore blobs, Duration timeout) {
        this.topic = topics.adapters();
        this.blobs = blobs;
        this.timeout = timeout;
        try (Admin setup = Admin.create(kafka.client(Map.of()))) {
            Topics.ensure(setup, (short) 1, topics);
        }
        this.admin = Admin.create(kafka.client(Map.of("request.timeout.ms", "2000", "default.api.timeout.ms", "2000",
                "reconnect.backoff.max.ms", "1000")));
        this.log = new AdapterManifestLog(kafka, topics, null).start(timeout.multipliedBy(2));
        // A quarter of the timeout each for metadata and for delivery; the lock wait and the read-back share the rest.
        long quarter = Math.max(timeout.toMillis() / 4, 250);
        this.producer = new KafkaProducer<>(kafka.client(Map.of(
                "acks", "all",
                "enable.idempotence", "true",
                "max.block.ms", Long.toString(quarter),
                "delivery.timeout.ms", Long.toString(quarter),
                "request.timeout.ms", Long.toString(quarter / 2),
                "reconnect.backoff.max.ms", "1000")),
                new StringSerializer(), EventCodec.ADAPTER_MANIFEST);
        this.writability = new Writability(admin);
        LOG.infof("catalogue: %d adapters read from %s", log.all().size(), topic);
    }

    /** Stores the archive and adds it as the adapter's next version; the first version (or {@code promote}) becomes active. */
    public AdapterManifest addVersion(String tenant, String name, AdapterUpload.Validated upload, boolean promote,
            AdapterManifest.Provenance provenance) {
        String sha = Sha256.hex(upload.archive());
        return writeWithBlob(tenant, name, sha, deadline -> {
            Optional<AdapterManifest> current = live(tenant, name);
            Integer parent = provenance == null ? null : provenance.parentVersion();
            if (parent != null && current.flatMap(m -> m.version(parent)).isEmpty()) {
                throw new InvalidProvenanceException("parent version " + parent + " is not a version of " + tenant + "/" + name);
            }
            blobs.put(upload.archive()); // durable before any manifest names it
            int version = log.get(tenant, name).map(AdapterManifest::nextVersion).orElse(1);
            List<AdapterManifest.Version> versions = new ArrayList<>(current.map(AdapterManifest::versions).orElse(List.of()));
            versions.add(new AdapterManifest.Version(version, sha, upload.archive().length, upload.type(), upload.rank(),
                    upload.targetModules(), upload.baseFingerprint(), Instant.now(), provenance));
            int active = current.isEmpty() || promote ? version : current.get().activeVersion();
            return publish(new AdapterManifest(AdapterManifest.SCHEMA_VERSION, tenant, name, active, version + 1, versions, Instant.now()),
                    deadline);
        });
    }

    /**
     * Stores a version's merged artifact and re-publishes the manifest with it attached; one already
     * attached is replaced (its blob goes once nothing references it), the same one changes nothing.
     */
    public AdapterManifest attachMerged(String tenant, String name, int version, MergedUpload.Validated merged) {
        String sha = Sha256.hex(merged.archive());
        var artifact = new AdapterManifest.MergedArtifact(sha, merged.archive().length, merged.baseFingerprint());
        AtomicBoolean replaced = new AtomicBoolean();
        AdapterManifest published = writeWithBlob(tenant, name, sha, deadline -> {
            AdapterManifest m = require(tenant, name);
            AdapterManifest.Version v = m.version(version).orElseThrow(() -> new UnknownAdapterException("version " + version + " of adapter " + name));
            if (artifact.equals(v.merged())) {
                return m;
            }
            replaced.set(v.merged() != null);
            blobs.put(merged.archive()); // durable before any manifest names it
            List<AdapterManifest.Version> versions = m.versions().stream().map(x -> x.version() == version ? x.withMerged(artifact) : x).toList();
            return publish(new AdapterManifest(AdapterManifest.SCHEMA_VERSION, tenant, name, m.activeVersion(), m.nextVersion(), versions,
                    Instant.now()), deadline);
        });
        if (replaced.get()) {
            collectGarbage(); // the artifact it replaced
        }
        return published;
    }

    /**
     * A {@link #write} whose change stores the blob {@code sha}: the blob is held from garbage
     * collection until the manifest naming it is written, and deleted at once if none is.
     */
    private AdapterManifest writeWithBlob(String tenant, String name, String sha, LongFunction<AdapterManifest> change) {
        pendingBlobs.merge(sha, 1, Integer::sum); // before the blob exists, so garbage collection leaves it alone
        boolean taken = false;
        try {
            AdapterManifest published = write(tenant, name, change);
            taken = true;
            return published;
        } catch (ManifestWrittenException e) {
            taken = true; // on the topic, only not read back yet: the blob is referenced
            throw e;
        } finally {
            pendingBlobs.computeIfPresent(sha, (k, n) -> n == 1 ? null : n - 1);
            if (!taken) {
                deleteUnlessReferenced(sha);
            }
        }
    }

    /** Makes {@code version} the one new requests get (a rollback is a promote of an older version). */
    public AdapterManifest promote(String tenant, String name, int version) {
        return write(tenant, name, deadline -> {
            AdapterManifest m = require(tenant, name);
            if (m.version(version).isEmpty()) {
                throw new UnknownAdapterException("version " + version + " of adapter " + name);
            }
            return publish(new AdapterManifest(m.schemaVersion(), tenant, name, version, m.nextVersion(), m.versions(), Instant.now()), deadline);
        });
    }

    /** Deletes one version; the active one only when it is the last (which deletes the adapter). */
    public AdapterManifest deleteVersion(String tenant, String name, int version) {
        AdapterManifest published = write(tenant, name, deadline -> {
            AdapterManifest m = require(tenant, name);
            if (m.version(version).isEmpty()) {
                throw new UnknownAdapterException("version " + version + " of adapter " + name);
            }
            if (version == m.activeVersion() && m.versions().size() > 1) {
                throw new ActiveVersionException("version " + version + " is active; promote another version before deleting it");
            }
            List<AdapterManifest.Version> rest = m.versions().stream().filter(v -> v.version() != version).toList();
            return publish(new AdapterManifest(m.schemaVersion(), tenant, name, rest.isEmpty() ? 0 : m.activeVersion(), m.nextVersion(), rest,
                    Instant.now()), deadline);
        });
        collectGarbage();
        return published;
    }

    /** Deletes every version; the name stays reserved against reusing version numbers. */
    public void deleteAdapter(String tenant, String name) {
        write(tenant, name, deadline -> {
            AdapterManifest m = require(tenant, name);
            return publish(new AdapterManifest(m.schemaVersion(), tenant, name, 0, m.nextVersion(), List.of(), Instant.now()), deadline);
        });
        collectGarbage();
    }

    /** A live (not deleted) adapter. */
    public Optional<AdapterManifest> live(String tenant, String name) {
        return log.get(tenant, name).filter(m -> !m.deleted());
    }

    /** Live adapters of one tenant, or of all when {@code tenant} is null. */
    public List<AdapterManifest> list(String tenant) {
        return log.all().stream().filter(m -> !m.deleted() && (tenant == null || m.tenant().equals(tenant))).toList();
    }

    /** Whether {@code tenant} (null: anyone) has a live version stored in blob {@code sha}, as its adapter or as its merged model. */
    public boolean references(String tenant, String sha) {
        return list(tenant).stream().flatMap(m -> m.versions().stream()).anyMatch(v -> blobsOf(v).contains(sha));
    }

    /** The blobs a version keeps: its adapter's and, once merged, its merged model's. */
    private static List<String> blobsOf(AdapterManifest.Version v) {
        return v.merged() == null ? List.of(v.blobSha256()) : List.of(v.blobSha256(), v.merged().sha256());
    }

    /** Whether the catalogue follows its topic. */
    public boolean healthy() {
        return log.healthy();
    }

    /** Whether a write could succeed now: the catalogue follows its topic and the broker answers. */
    public boolean writable() {
        return log.healthy() && writability.brokerAnswers();
    }

    /** Runs {@code change} under the adapter's lock with what is left of the write's deadline (System.nanoTime()). */
    private AdapterManifest write(String tenant, String name, LongFunction<AdapterManifest> change) {
        long deadline = System.nanoTime() + timeout.toNanos();
        ReentrantLock lock = locks.computeIfAbsent(AdapterManifest.key(tenant, name), k -> new ReentrantLock());
        try {
            if (!lock.tryLock(timeout.toMillis() / 4, TimeUnit.MILLISECONDS)) {
                throw new CatalogueUnavailableException("another change of adapter " + name + " is still in progress; try again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CatalogueUnavailableException("interrupted while waiting to change adapter " + name);
        }
        try {
            return change.apply(deadline);
        } finally {
            lock.unlock();
        }
    }

    private AdapterManifest require(String tenant, String name) {
        return live(tenant, name).orElseThrow(() -> new UnknownAdapterException("adapter " + name));
    }

    private AdapterManifest publish(AdapterManifest manifest, long deadline) {
        RecordMetadata sent;
        try {
            // Bounded by max.block.ms and delivery.timeout.ms: when this fails, the record was not written.
            sent = producer.send(new ProducerRecord<>(topic, manifest.key(), manifest)).get();
        } catch (ExecutionException | KafkaException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            writability.failed();
            throw new CatalogueUnavailableException("Kafka did not take the manifest of " + manifest.key() + " (" + cause.getMessage()
                    + "); nothing was changed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CatalogueUnavailableException("interrupted while publishing " + manifest.key());
        }
        Duration left = Duration.ofNanos(Math.max(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(100)));
        if (!log.awaitApplied(new TopicPartition(sent.topic(), sent.partition()), sent.offset(), left)) {
            throw new ManifestWrittenException("the manifest of " + manifest.key() + " was written but not read back within " + timeout);
        }
        writability.succeeded();
        return log.get(manifest.tenant(), manifest.name()).orElseThrow();
    }

    /** Removes a failed upload's blob unless a live version (or another upload in flight) uses the same bytes. */
    private void deleteUnlessReferenced(String sha) {
        synchronized (collecting) {
            if (!pendingBlobs.containsKey(sha) && !references(null, sha) && blobs.delete(sha)) {
                LOG.infof("removed blob %s of an upload Kafka did not take", sha);
            }
        }
    }

    /**
     * Blobs no manifest references. Blobs are listed first: an upload marks its blob pending before
     * storing it and unmarks it only once its manifest is applied, so every listed blob is pending
     * or referenced by then.
     */
    private void collectGarbage() {
        synchronized (collecting) {
            Set<String> stored = blobs.list();
            Set<String> keep = new HashSet<>(pendingBlobs.keySet());
            for (AdapterManifest m : log.all()) {
                m.versions().forEach(v -> keep.addAll(blobsOf(v)));
            }
            int deleted = 0;
            for (String sha : stored) {
                if (!keep.contains(sha) && blobs.delete(sha)) {
                    deleted++;
                }
            }
            if (deleted > 0) {
                LOG.infof("deleted %d unreferenced blobs", deleted);
            }
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        admin.close(Duration.ofSeconds(2));
        log.close();
    }

    /** A write Kafka took but the catalogue did not read back in time: still 503, but its blob stays. */
    static final class ManifestWrittenException extends CatalogueUnavailableException {
        ManifestWrittenException(String message) {
            super(message);
        }
    }
}
