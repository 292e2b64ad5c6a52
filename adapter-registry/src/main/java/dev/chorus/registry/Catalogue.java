package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.AdapterManifestLog;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.EventCodec;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The adapter catalogue and its only writer. State lives on the compacted adapters topic;
 * this class materialises it at start, and every change is read–modify–publish under one lock: the
 * blob is durable before its manifest is produced (idempotent producer, acks=all), and a change
 * returns only once the manifest has been read back from the topic.
 */
public final class Catalogue implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Catalogue.class);

    private final String topic;
    private final BlobStore blobs;
    private final Duration timeout;
    private final AdapterManifestLog log;
    private final KafkaProducer<String, AdapterManifest> producer;
    private final Object writeLock = new Object();

    public Catalogue(KafkaConnection kafka, TopicNames topics, BlobStore blobs, Duration timeout) {
        this.topic = topics.adapters();
        this.blobs = blobs;
        this.timeout = timeout;
        try (Admin admin = Admin.create(kafka.client(Map.of()))) {
            Topics.ensure(admin, (short) 1, topics);
        }
        this.log = new AdapterManifestLog(kafka, topics, null).start(timeout.multipliedBy(2));
        this.producer = new KafkaProducer<>(kafka.client(Map.of(
                "acks", "all",
                "enable.idempotence", "true",
                "delivery.timeout.ms", Long.toString(Math.max(timeout.toMillis(), 1000)),
                "request.timeout.ms", Long.toString(Math.max(timeout.toMillis() / 2, 500)))),
                new StringSerializer(), EventCodec.ADAPTER_MANIFEST);
        LOG.infof("catalogue: %d adapters read from %s", log.all().size(), topic);
    }

    /** Stores the archive and adds it as the adapter's next version; the first version (or {@code promote}) becomes active. */
    public AdapterManifest addVersion(String tenant, String name, AdapterUpload.Validated upload, boolean promote,
            AdapterManifest.Provenance provenance) {
        synchronized (writeLock) {
            Optional<AdapterManifest> current = live(tenant, name);
            Integer parent = provenance == null ? null : provenance.parentVersion();
            if (parent != null && current.flatMap(m -> m.version(parent)).isEmpty()) {
                throw new InvalidProvenanceException("parent version " + parent + " is not a version of " + tenant + "/" + name);
            }
            String sha = blobs.put(upload.archive()); // durable before any manifest names it
            int version = log.get(tenant, name).map(AdapterManifest::nextVersion).orElse(1);
            List<AdapterManifest.Version> versions = new ArrayList<>(current.map(AdapterManifest::versions).orElse(List.of()));
            versions.add(new AdapterManifest.Version(version, sha, upload.archive().length, upload.type(), upload.rank(),
                    upload.targetModules(), upload.baseFingerprint(), Instant.now(), provenance));
            int active = current.isEmpty() || promote ? version : current.get().activeVersion();
            return publish(new AdapterManifest(AdapterManifest.SCHEMA_VERSION, tenant, name, active, version + 1, versions, Instant.now()));
        }
    }

    /** Makes {@code version} the one new requests get (a rollback is a promote of an older version). */
    public AdapterManifest promote(String tenant, String name, int version) {
        synchronized (writeLock) {
            AdapterManifest m = require(tenant, name);
            if (m.version(version).isEmpty()) {
                throw new UnknownAdapterException("version " + version + " of adapter " + name);
            }
            return publish(new AdapterManifest(m.schemaVersion(), tenant, name, version, m.nextVersion(), m.versions(), Instant.now()));
        }
    }

    /** Deletes one version; the active one only when it is the last (which deletes the adapter). */
    public AdapterManifest deleteVersion(String tenant, String name, int version) {
        synchronized (writeLock) {
            AdapterManifest m = require(tenant, name);
            if (m.version(version).isEmpty()) {
                throw new UnknownAdapterException("version " + version + " of adapter " + name);
            }
            if (version == m.activeVersion() && m.versions().size() > 1) {
                throw new ActiveVersionException("version " + version + " is active; promote another version before deleting it");
            }
            List<AdapterManifest.Version> rest = m.versions().stream().filter(v -> v.version() != version).toList();
            AdapterManifest next = new AdapterManifest(m.schemaVersion(), tenant, name, rest.isEmpty() ? 0 : m.activeVersion(),
                    m.nextVersion(), rest, Instant.now());
            AdapterManifest published = publish(next);
            collectGarbage();
            return published;
        }
    }

    /** Deletes every version; the name stays reserved against reusing version numbers. */
    public void deleteAdapter(String tenant, String name) {
        synchronized (writeLock) {
            AdapterManifest m = require(tenant, name);
            publish(new AdapterManifest(m.schemaVersion(), tenant, name, 0, m.nextVersion(), List.of(), Instant.now()));
            collectGarbage();
        }
    }

    /** A live (not deleted) adapter. */
    public Optional<AdapterManifest> live(String tenant, String name) {
        return log.get(tenant, name).filter(m -> !m.deleted());
    }

    /** Live adapters of one tenant, or of all when {@code tenant} is null. */
    public List<AdapterManifest> list(String tenant) {
        return log.all().stream().filter(m -> !m.deleted() && (tenant == null || m.tenant().equals(tenant))).toList();
    }

    /** Whether {@code tenant} (null: anyone) has a live version stored in blob {@code sha}. */
    public boolean references(String tenant, String sha) {
        return list(tenant).stream().flatMap(m -> m.versions().stream()).anyMatch(v -> v.blobSha256().equals(sha));
    }

    public boolean healthy() {
        return log.healthy();
    }

    private AdapterManifest require(String tenant, String name) {
        return live(tenant, name).orElseThrow(() -> new UnknownAdapterException("adapter " + name));
    }

    private AdapterManifest publish(AdapterManifest manifest) {
        RecordMetadata sent;
        try {
            sent = producer.send(new ProducerRecord<>(topic, manifest.key(), manifest))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new CatalogueUnavailableException("Kafka did not take the manifest of " + manifest.key() + ": " + cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CatalogueUnavailableException("interrupted while publishing " + manifest.key());
        }
        if (!log.awaitApplied(new TopicPartition(sent.topic(), sent.partition()), sent.offset(), timeout)) {
            throw new CatalogueUnavailableException("the manifest of " + manifest.key() + " was written but not read back within " + timeout);
        }
        return log.get(manifest.tenant(), manifest.name()).orElseThrow();
    }

    /** Blobs no live version references; under the write lock, so no upload is between its blob and its manifest. */
    private void collectGarbage() {
        Set<String> referenced = new HashSet<>();
        for (AdapterManifest m : log.all()) {
            m.versions().forEach(v -> referenced.add(v.blobSha256()));
        }
        int deleted = blobs.collectGarbage(referenced);
        if (deleted > 0) {
            LOG.infof("deleted %d unreferenced blobs", deleted);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        log.close();
    }
}
