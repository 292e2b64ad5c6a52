package dev.chorus.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One Chorus service (a built Quarkus fast-jar) as its own process on a free port, its output in a log file. */
final class Service implements AutoCloseable {
    private final String name;
    private final Process process;
    private final int port;
    private final int managementPort;
    private final Path log;
    private final Path jar;
    private final Map<String, String> config;
    private final Path logDir;

    private Service(String name, Process process, int port, int managementPort, Path log, Path jar, Map<String, String> config,
            Path logDir) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.managementPort = managementPort;
        this.log = log;
        this.jar = jar;
        this.config = config;
        this.logDir = logDir;
    }

    /** Starts {@code jar} with the given config (as -D properties) and waits until /q/health/ready answers 200. */
    static Service start(String name, Path jar, Map<String, String> config, Path logDir) {
        return start(name, jar, config, logDir, freePort());
    }

    /** The same service again, on the same port with the same configuration (after a kill or a stop). */
    Service restart() {
        return start(name, jar, config, logDir, port);
    }

    /** The process' output so far. */
    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    static Service start(String name, Path jar, Map<String, String> config, Path logDir, int port) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build the reactor (./mvnw -B verify) so the services are packaged first");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx1g");
        command.add("--add-modules=jdk.incubator.vector"); // the engine's sparse INT4 kernel, as bin/serve and the images run it
        command.add("-Dquarkus.http.port=" + port);
        int managementPort = freePort();
        command.add("-Dquarkus.management.port=" + managementPort); // every service's metrics
        config.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        try {
            Files.createDirectories(logDir);
            Path log = logDir.resolve(name + "-" + port + ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            builder.environment().put("DJL_OFFLINE", "true");
            // Three JVMs and the test share two cores: one PyTorch thread each, so no op waits on a descheduled sibling thread.
            builder.environment().put("OMP_NUM_THREADS", "1");
            Service service = new Service(name, builder.start(), port, managementPort, log, jar, Map.copyOf(config), logDir);
            service.awaitReady();
            return service;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    private void awaitReady() {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited during start-up; see " + log + ":\n" + tail());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(url("/q/health/ready")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(250);
        }
        close();
        throw new IllegalStateException(name + " not ready within 120 s; see " + log + ":\n" + tail());
    }

    /** On the management interface (metrics), 127.0.0.1 only. */
    URI managementUrl(String path) {
        return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** Waits until the service's log has a line containing {@code text}; the line. */
    String awaitLog(String text, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            try {
                for (String line : Files.readAllLines(log)) {
                    if (line.contains(text)) {
                        return line;
                    }
                }
            } catch (IOException e) {
                // not written yet
            }
            sleep(200);
        }
        throw new AssertionError(name + " logged no line with '" + text + "' within " + millis + " ms; see " + log + ":\n" + tail());
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** SIGKILL (kill -9): no shutdown hook, no flush, no goodbye to the broker; a crash. */
    void kill() {
        try {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM, so the service shuts down cleanly; killed after 20 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
