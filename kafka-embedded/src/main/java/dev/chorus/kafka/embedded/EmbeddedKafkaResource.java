package dev.chorus.kafka.embedded;

import dev.chorus.kafka.Topics;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;

/**
 * Starts a real embedded Kafka for a @QuarkusTest, creates the Chorus topics and points the
 * application at it ({@code kafka.bootstrap.servers}). Init arg {@code data-dir} keeps the log in a
 * given directory (e.g. to restart an app on the same topics); otherwise a temporary one is deleted
 * at the end.
 */
public class EmbeddedKafkaResource implements QuarkusTestResourceLifecycleManager {
    private EmbeddedKafka kafka;
    private Path temporary;
    private Path dataDir;

    @Override
    public void init(Map<String, String> initArgs) {
        String dir = initArgs.get("data-dir");
        dataDir = dir == null ? null : Path.of(dir);
    }

    @Override
    public Map<String, String> start() {
        try {
            if (dataDir == null) {
                temporary = Files.createTempDirectory("chorus-kafka-");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        kafka = EmbeddedKafka.start(dataDir != null ? dataDir : temporary);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Topics.ensure(admin, (short) 1);
        }
        return Map.of("kafka.bootstrap.servers", kafka.bootstrapServers());
    }

    @Override
    public void stop() {
        if (kafka != null) {
            kafka.close();
        }
        if (temporary != null) {
            try (Stream<Path> files = Files.walk(temporary)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // a leftover temp directory is harmless
            }
        }
    }
}
