package dev.chorus.training;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.EventFormatException;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.TrainingExample;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Every adapter's dataset, materialised from the examples topic: read committed from the
 * beginning at start (a restart rebuilds the same view; aborted transactions never show), then
 * tailed on one thread. Every instance holds all datasets, whichever partitions of the feedback it
 * consumes.
 */
@ApplicationScoped
public class Datasets {
    private static final Logger LOG = Logger.getLogger(Datasets.class);

    private final String bootstrapServers;
    private final String topic;
    private final Duration catchUpTimeout;
    private final Map<String, Dataset> byAdapter = new ConcurrentHashMap<>(); // tenant/adapter/ -> dataset
    private final Map<TopicPartition, Long> applied = new ConcurrentHashMap<>(); // next offset to apply
    private final Object progress = new Object();
    private volatile boolean caughtUp;
    private volatile boolean closed;
    private volatile RuntimeException failure;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;

    public Datasets(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers, TopicNames topics, TrainingConfig config) {
        this.bootstrapServers = bootstrapServers;
        this.topic = topics.trainingExamples();
        this.catchUpTimeout = config.catchUpTimeout();
    }

    void start(@Observes StartupEvent ignored) {
        thread = new Thread(this::run, "chorus-datasets");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent ignored) {
        closed = true;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    private void run() {
        Map<String, Object> config = Map.of(
                "bootstrap.servers", bootstrapServers,
                "enable.auto.commit", "false",
                "isolation.level", "read_committed",
                "client.id", "chorus-datasets-" + Long.toHexString(System.nanoTime()));
        long started = System.nanoTime();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer = c;
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : c.partitionsFor(topic, catchUpTimeout)) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = c.endOffsets(partitions); // read_committed: the last stable offsets
            while (!closed) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    apply(r);
                }
                for (TopicPartition tp : partitions) {
                    applied.put(tp, c.position(tp));
                }
                if (!caughtUp && partitions.stream().allMatch(tp -> applied.get(tp) >= end.get(tp))) {
                    caughtUp = true;
                    LOG.infof("datasets rebuilt from %s: %d adapters in %d ms", topic, byAdapter.size(),
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
                }
                synchronized (progress) {
                    progress.notifyAll();
                }
            }
        } catch (WakeupException e) {
            // shutting down
        } catch (RuntimeException e) {
            failure = e;
            LOG.error("reading " + topic + " failed; the datasets are stale", e);
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        String[] key = r.key() == null ? new String[0] : r.key().split("/", 3);
        if (key.length != 3) {
            LOG.warnf("skipping %s-%d@%d: key '%s' is not tenant/adapter/eventId", r.topic(), r.partition(), r.offset(), r.key());
            return;
        }
        String prefix = TrainingExample.adapterPrefix(key[0], key[1]);
        if (r.value() == null) { // a tombstone: erased
            Dataset d = byAdapter.get(prefix);
            if (d != null) {
                d.remove(key[2]);
            }
            return;
        }
        try {
            TrainingExample example = EventCodec.TRAINING_EXAMPLE.decode(r.value());
            if (!example.key().equals(r.key())) {
                throw new EventFormatException("record key " + r.key() + " is not the example's " + example.key());
            }
            byAdapter.computeIfAbsent(prefix, p -> new Dataset(key[0], key[1])).put(example);
        } catch (EventFormatException e) {
            LOG.warnf("skipping %s-%d@%d: %s", r.topic(), r.partition(), r.offset(), e.getMessage());
        }
    }

    /** Whether the view has read the topic to where it stood at start and still follows it. */
    public boolean ready() {
        return caughtUp && failure == null && !closed;
    }

    /** The adapter's dataset, if it has any examples. */
    public Optional<Dataset> of(String tenant, String adapter) {
        if (!ready()) {
            throw new DatasetsUnavailableException(failure != null
                    ? "the training data is unavailable: " + failure.getMessage()
                    : "the training data is still being read; retry shortly");
        }
        return Optional.ofNullable(byAdapter.get(TrainingExample.adapterPrefix(tenant, adapter))).filter(d -> !d.isEmpty());
    }

    /** Every adapter's dataset with examples (ready views only, like {@link #of}). */
    public List<Dataset> all() {
        if (!ready()) {
            throw new DatasetsUnavailableException("the training data is still being read; retry shortly");
        }
        return byAdapter.values().stream().filter(d -> !d.isEmpty()).toList();
    }

    /** Waits until this view has applied every record below {@code offsets} (next offsets per partition); false on timeout. */
    public boolean awaitApplied(Map<TopicPartition, Long> offsets, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (offsets.entrySet().stream().anyMatch(e -> applied.getOrDefault(e.getKey(), -1L) < e.getValue())) {
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
}
