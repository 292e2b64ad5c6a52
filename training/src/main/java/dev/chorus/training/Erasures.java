package dev.chorus.training;

import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.TrainingExample;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Privacy erasure: a tombstone for every example of one adapter of one tenant, after which
 * compaction removes them from the topic. Its own idempotent producer, outside the transactions of
 * {@link ExampleWriter}, whose emitter runs one transaction at a time for the feedback stream.
 */
@ApplicationScoped
public class Erasures {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Datasets datasets;
    private final String topic;
    private final KafkaProducer<String, byte[]> producer;

    public Erasures(KafkaConnection kafka, TopicNames topics, Datasets datasets) {
        this.datasets = datasets;
        this.topic = topics.trainingExamples();
        this.producer = new KafkaProducer<>(kafka.client(Map.of(
                "acks", "all",
                "enable.idempotence", "true",
                "max.block.ms", Long.toString(TIMEOUT.toMillis()),
                "client.id", "chorus-training-erasures")), new StringSerializer(), new ByteArraySerializer());
    }

    /** Erases every example the tenant's adapter has and returns how many, once the datasets no longer show them. */
    public int erase(String tenant, String adapter) {
        List<String> eventIds = datasets.of(tenant, adapter).map(Dataset::eventIds).orElse(List.of());
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (String eventId : eventIds) {
            sent.add(producer.send(new ProducerRecord<>(topic, TrainingExample.key(tenant, adapter, eventId), null)));
        }
        Map<TopicPartition, Long> written = new HashMap<>();
        try {
            for (Future<RecordMetadata> f : sent) {
                RecordMetadata m = f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                written.merge(new TopicPartition(m.topic(), m.partition()), m.offset() + 1, Math::max);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new DatasetsUnavailableException("could not write the erasure; retry (erasing twice is harmless)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DatasetsUnavailableException("interrupted while erasing", e);
        }
        if (!datasets.awaitApplied(written, TIMEOUT)) {
            throw new DatasetsUnavailableException("the erasure is written but not yet visible; it will be");
        }
        return eventIds.size();
    }

    void close(@Observes ShutdownEvent ignored) {
        producer.close(Duration.ofSeconds(5));
    }
}
