package dev.chorus.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads every partition of a topic from its beginning, then follows it, on one thread of its own,
 * handing each record to {@code apply}: the way a service materialises a compacted topic in memory.
 * It has caught up once it reached the ends the topic had when reading began ({@code onCaughtUp}
 * runs then, on the reading thread); callers can wait until given offsets have been applied.
 */
public final class TopicTail implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TopicTail.class.getName());

    private final String topic;
    private final Map<String, Object> consumerConfig;
    private final Duration metadataTimeout;
    private final Consumer<ConsumerRecord<String, byte[]>> apply;
    private final Runnable onCaughtUp;
    private final Map<TopicPartition, Long> applied = new ConcurrentHashMap<>(); // next offset to apply, per partition
    private final Object progress = new Object();
    private volatile boolean caughtUp;
    private volatile boolean closed;
    private volatile RuntimeException failure;
    private volatile KafkaConsumer<String, byte[]> consumer;

    /** {@code consumerConfig}: bootstrap servers and anything beyond the defaults (e.g. read_committed); never commits offsets. */
    public TopicTail(String topic, Map<String, Object> consumerConfig, Duration metadataTimeout, Consumer<ConsumerRecord<String, byte[]>> apply,
            Runnable onCaughtUp) {
        this.topic = topic;
        this.consumerConfig = new HashMap<>(consumerConfig);
        this.consumerConfig.put("enable.auto.commit", "false");
        this.consumerConfig.putIfAbsent("client.id", topic + "-tail-" + Long.toHexString(System.nanoTime()));
        this.metadataTimeout = metadataTimeout;
        this.apply = apply;
        this.onCaughtUp = onCaughtUp;
    }

    /** Starts the reading thread (a daemon named {@code threadName}). */
    public void start(String threadName) {
        Thread thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer = c;
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : c.partitionsFor(topic, metadataTimeout)) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = c.endOffsets(partitions); // read_committed: the last stable offsets
            while (!closed) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    apply.accept(r);
                }
                for (TopicPartition tp : partitions) {
                    applied.put(tp, c.position(tp));
                }
                if (!caughtUp && partitions.stream().allMatch(tp -> applied.get(tp) >= end.get(tp))) {
                    caughtUp = true;
                    onCaughtUp.run();
                }
                synchronized (progress) {
                    progress.notifyAll();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            failure = e;
            LOG.log(Level.SEVERE, "reading " + topic + " failed; its view is stale", e);
        } finally {
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    /** Read up to where the topic ended at start, still reading, and not failed. */
    public boolean current() {
        return caughtUp && failure == null && !closed;
    }

    public boolean caughtUp() {
        return caughtUp;
    }

    /** Why reading stopped, or null. */
    public RuntimeException failure() {
        return failure;
    }

    /** Waits until every record below {@code offsets} (next offsets per partition) has been applied; false on timeout or when reading stopped. */
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

    @Override
    public void close() {
        closed = true;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }
}
