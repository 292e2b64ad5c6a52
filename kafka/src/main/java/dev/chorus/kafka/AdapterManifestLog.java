package dev.chorus.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The compacted adapters topic ({@code chorus.adapters} by default) materialised in memory: read from the beginning at
 * start (so a restart rebuilds the same catalogue), then tailed on one thread. Readers see the
 * latest manifest per tenant/name; writers can wait until their own record has been applied.
 * Records that do not decode go to the dead-letter topic and are skipped.
 */
public final class AdapterManifestLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AdapterManifestLog.class.getName());

    /** Told, on the log's thread, about every change after the initial catch-up (previous may be null). */
    public interface Listener {
        void onChange(AdapterManifest previous, AdapterManifest current);
    }

    private final KafkaConnection kafka;
    private final String topic;
    private final String deadLetterTopic;
    private final Listener listener;
    private final Map<String, AdapterManifest> manifests = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> applied = new ConcurrentHashMap<>(); // next offset to apply, per partition
    private final Object progress = new Object();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile RuntimeException failure;
    private volatile boolean closed;
    private Thread thread;

    public AdapterManifestLog(KafkaConnection kafka, TopicNames topics, Listener listener) {
        this.kafka = kafka;
        this.topic = topics.adapters();
        this.deadLetterTopic = topics.deadLetter();
        this.listener = listener == null ? (before, after) -> { } : listener;
    }

    /** Reads the topic to its current end, then keeps tailing; fails when that takes longer than {@code timeout}. */
    public AdapterManifestLog start(Duration timeout) {
        thread = new Thread(this::run, "chorus-adapter-manifests");
        thread.setDaemon(true);
        thread.start();
        try {
            if (!caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                close();
                throw new IllegalStateException("could not read " + topic + " from " + kafka + " within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading " + topic, e);
        }
        if (failure != null) {
            throw failure;
        }
        return this;
    }

    private void run() {
        Map<String, Object> config = kafka.client(Map.of(
                "enable.auto.commit", "false",
                "isolation.level", "read_committed",
                "client.id", "chorus-adapter-manifests-" + Long.toHexString(System.nanoTime())));
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<String, byte[]> deadLetters = new KafkaProducer<>(kafka.client(Map.of("acks", "all")),
                        new StringSerializer(), new ByteArraySerializer())) {
            consumer = c;
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = c.endOffsets(partitions);
            while (!closed) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    apply(r, deadLetters, caughtUp.getCount() == 0);
                }
                for (TopicPartition tp : partitions) {
                    applied.put(tp, c.position(tp));
                }
                synchronized (progress) {
                    progress.notifyAll();
                }
                if (caughtUp.getCount() > 0 && partitions.stream().allMatch(tp -> applied.get(tp) >= end.get(tp))) {
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            failure = new IllegalStateException("reading " + topic + " failed: " + e.getMessage(), e);
            LOG.log(Level.SEVERE, "adapter manifest log stopped", e);
        } finally {
            caughtUp.countDown();
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r, KafkaProducer<String, byte[]> deadLetters, boolean notify) {
        AdapterManifest current;
        try {
            current = r.value() == null ? null : EventCodec.ADAPTER_MANIFEST.decode(r.value());
            if (current != null && !current.key().equals(r.key())) {
                throw new EventFormatException("record key " + r.key() + " does not match the manifest's " + current.key());
            }
        } catch (EventFormatException e) {
            LOG.warning("dead-lettering " + r.topic() + "@" + r.offset() + ": " + e.getMessage());
            ProducerRecord<String, byte[]> dead = new ProducerRecord<>(deadLetterTopic, r.key(), r.value());
            dead.headers().add(Topics.HEADER_SOURCE_TOPIC, r.topic().getBytes(StandardCharsets.UTF_8))
                    .add(Topics.HEADER_SOURCE_OFFSET, Long.toString(r.offset()).getBytes(StandardCharsets.UTF_8))
                    .add(Topics.HEADER_REASON, e.getMessage().getBytes(StandardCharsets.UTF_8));
            deadLetters.send(dead);
            return;
        }
        AdapterManifest previous = current == null ? manifests.remove(r.key()) : manifests.put(r.key(), current);
        if (notify) {
            try {
                listener.onChange(previous, current);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "adapter manifest listener failed on " + r.key(), e);
            }
        }
    }

    /** Waits until the record at {@code offset} of {@code partition} has been applied; false on timeout. */
    public boolean awaitApplied(TopicPartition partition, long offset, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (applied.getOrDefault(partition, -1L) <= offset) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || closed || failure != null) {
                    return false;
                }
                try {
                    progress.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    public Optional<AdapterManifest> get(String tenant, String name) {
        return Optional.ofNullable(manifests.get(AdapterManifest.key(tenant, name)));
    }

    /** Every manifest (deleted ones included), by key. */
    public List<AdapterManifest> all() {
        List<AdapterManifest> out = new ArrayList<>(manifests.values());
        out.sort(Comparator.comparing(AdapterManifest::key));
        return out;
    }

    /** Whether the tailing thread still runs (for readiness). */
    public boolean healthy() {
        return failure == null && !closed && thread != null && thread.isAlive();
    }

    @Override
    public void close() {
        closed = true;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
