package dev.chorus.training;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.EventFormatException;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.TrainingExample;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.transactions.KafkaTransactions;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Feedback to examples of record, exactly once: each polled batch of feedback becomes its examples
 * (and dead letters) in one Kafka transaction that also commits the batch's offsets. A crash
 * before the commit aborts all of it and the batch is read again; after the commit nothing is
 * read twice. A repeated event id writes the same key again, which compaction and every reader
 * collapse.
 */
@ApplicationScoped
public class ExampleWriter {
    private static final Logger LOG = Logger.getLogger(ExampleWriter.class);

    private final KafkaTransactions<byte[]> examples;
    private final String deadLetterTopic;
    private final TrainingMetrics metrics;

    public ExampleWriter(@Channel(TopicNames.TRAINING_EXAMPLES) KafkaTransactions<byte[]> examples, TopicNames topics,
            TrainingMetrics metrics) {
        this.examples = examples;
        this.deadLetterTopic = topics.deadLetter();
        this.metrics = metrics;
    }

    @Incoming(TopicNames.FEEDBACK)
    Uni<Void> write(KafkaRecordBatch<String, byte[]> batch) {
        return examples.withTransactionAndAck(batch, tx -> {
            for (KafkaRecord<String, byte[]> feedback : batch) {
                tx.send(exampleOrDeadLetter(feedback));
            }
            return Uni.createFrom().voidItem();
        });
    }

    private Message<byte[]> exampleOrDeadLetter(KafkaRecord<String, byte[]> feedback) {
        try {
            FeedbackEvent event = EventCodec.FEEDBACK.decode(feedback.getPayload());
            if (!event.tenant().equals(feedback.getKey())) {
                throw new EventFormatException("record key '" + feedback.getKey() + "' is not the event's tenant '" + event.tenant() + "'");
            }
            TrainingExample example = TrainingExample.of(event);
            metrics.written(example);
            return KafkaRecord.of(example.key(), EventCodec.TRAINING_EXAMPLE.encode(example));
        } catch (EventFormatException e) {
            String origin = feedback.getPartition() + "@" + feedback.getMetadata(IncomingKafkaRecordMetadata.class)
                    .map(m -> Long.toString(m.getOffset())).orElse("?");
            LOG.warnf("dead-lettering %s-%s: %s", feedback.getTopic(), origin, e.getMessage());
            metrics.deadLettered();
            byte[] payload = feedback.getPayload() == null ? new byte[0] : feedback.getPayload();
            return KafkaRecord.of(deadLetterTopic, feedback.getKey(), payload)
                    .withHeader(Topics.HEADER_SOURCE_TOPIC, feedback.getTopic())
                    .withHeader(Topics.HEADER_SOURCE_OFFSET, origin)
                    .withHeader(Topics.HEADER_REASON, e.getMessage().getBytes(StandardCharsets.UTF_8));
        }
    }
}
