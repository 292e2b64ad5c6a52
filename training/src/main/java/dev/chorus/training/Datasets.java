package dev.chorus.training;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.EventFormatException;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.TopicTail;
import dev.chorus.kafka.TrainingExample;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
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

    private final Map<String, Dataset> byAdapter = new ConcurrentHashMap<>(); // tenant/adapter/ -> dataset
    private final TopicTail tail;

    public Datasets(KafkaConnection kafka, TopicNames topics, TrainingConfig config) {
        String topic = topics.trainingExamples();
        long started = System.nanoTime();
        this.tail = new TopicTail(topic, kafka.client(Map.of("isolation.level", "read_committed")),
                config.catchUpTimeout(), this::apply, () -> LOG.infof("datasets rebuilt from %s: %d adapters in %d ms", topic, byAdapter.size(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)));
    }

    void start(@Observes StartupEvent ignored) {
        tail.start("chorus-datasets");
    }

    void stop(@Observes ShutdownEvent ignored) {
        tail.close();
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
        return tail.current();
    }

    /** The adapter's dataset, if it has any examples. */
    public Optional<Dataset> of(String tenant, String adapter) {
        if (!ready()) {
            throw new DatasetsUnavailableException(tail.failure() != null
                    ? "the training data is unavailable: " + tail.failure().getMessage()
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
        return tail.awaitApplied(offsets, timeout);
    }
}
