package dev.chorus.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The Kafka broker as its own process, as bin/serve runs it (EmbeddedKafkaMain), so it can be killed with -9 and restarted on its data. */
final class Broker implements AutoCloseable {
    private final Path dataDir;
    private final int port;
    private final Path log;
    private final Process process;

    private Broker(Path dataDir, int port, Path log, Process process) {
        this.dataDir = dataDir;
        this.port = port;
        this.log = log;
        this.process = process;
    }

    static Broker start(Path dataDir, int port, Path logDir) {
        try {
            Files.createDirectories(logDir);
            Path log = logDir.resolve("kafka-" + port + ".log");
            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                    "-cp", System.getProperty("java.class.path"), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "dev.chorus.kafka.embedded.EmbeddedKafkaMain", dataDir.toString(), Integer.toString(port))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            Broker broker = new Broker(dataDir, port, log, process);
            broker.awaitReady();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the broker", e);
        }
    }

    Broker restart() {
        return start(dataDir, port, log.getParent());
    }

    String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    long pid() {
        return process.pid();
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long readyLines = Files.readAllLines(log).stream().filter(l -> l.startsWith("kafka ready")).count();
        while (System.nanoTime() < deadline) {
            List<String> lines = Files.readAllLines(log);
            if (ready(lines, readyLines)) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("the broker exited during start-up: " + String.join("\n", lines));
            }
            Service.sleep(200);
        }
        throw new IllegalStateException("the broker did not start within 120 s");
    }

    private static boolean ready(List<String> lines, long before) {
        return lines.stream().filter(l -> l.startsWith("kafka ready")).count() > before;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
