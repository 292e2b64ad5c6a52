package dev.chorus.kafka.embedded;

import java.nio.file.Path;
import dev.chorus.kafka.Topics;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;

/**
 * The local run's broker as a process: {@code EmbeddedKafkaMain DATA_DIR PORT} starts it, creates
 * the Chorus topics, prints "kafka ready on host:port" and runs until interrupted (Ctrl-C or SIGTERM
 * shut it down cleanly).
 */
public final class EmbeddedKafkaMain {
    private EmbeddedKafkaMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2 || !args[1].matches("\\d{1,5}")) {
            System.err.println("usage: EmbeddedKafkaMain DATA_DIR PORT");
            System.exit(2);
        }
        EmbeddedKafka kafka;
        try {
            kafka = EmbeddedKafka.start(Path.of(args[0]), Integer.parseInt(args[1]));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                Topics.ensure(admin, (short) 1);
            }
        } catch (RuntimeException e) {
            System.err.println("kafka: cannot start: " + e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            kafka.close();
            stopped.countDown();
        }, "kafka-shutdown"));
        System.out.println("kafka ready on " + kafka.bootstrapServers());
        System.out.flush();
        stopped.await();
    }
}
