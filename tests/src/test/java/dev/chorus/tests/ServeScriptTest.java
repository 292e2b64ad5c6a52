package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/serve supervises: kill -9 of one component is reported (which, how, its last log lines) and
 * that component alone is restarted while the others keep serving; SIGTERM stops everything.
 */
class ServeScriptTest {
    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void aKilledComponentIsReportedAndRestartedAlone(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).getParent(); // the tests module runs in <root>/tests
        int serving = Service.freePort();
        int registry = Service.freePort();
        int console = Service.freePort();
        Path err = dir.resolve("serve.err");
        ProcessBuilder builder = new ProcessBuilder(root.resolve("bin/serve").toString()).directory(root.toFile())
                .redirectOutput(dir.resolve("serve.out").toFile()).redirectError(err.toFile());
        builder.environment().put("CHORUS_DATA", dir.resolve("data").toString());
        builder.environment().put("CHORUS_KAFKA_PORT", Integer.toString(Service.freePort()));
        builder.environment().put("CHORUS_REGISTRY_PORT", Integer.toString(registry));
        builder.environment().put("CHORUS_SERVING_PORT", Integer.toString(serving));
        builder.environment().put("CHORUS_MANAGEMENT_PORT", Integer.toString(Service.freePort()));
        builder.environment().put("CHORUS_REGISTRY_MANAGEMENT_PORT", Integer.toString(Service.freePort()));
        builder.environment().put("CHORUS_TRAINING_MANAGEMENT_PORT", Integer.toString(Service.freePort()));
        builder.environment().put("CHORUS_TRAINING_PORT", Integer.toString(Service.freePort())); // used once training is a component
        builder.environment().put("CHORUS_CONSOLE_PORT", Integer.toString(console));
        builder.environment().put("CHORUS_JAVA_OPTS", "-Xmx512m");
        builder.environment().put("OMP_NUM_THREADS", "1");
        Process serve = builder.start();
        try {
            assertTrue(await(dir.resolve("serve.out"), "Chorus is up", 300), "started: " + Files.readString(err));
            assertTrue(Files.readString(dir.resolve("serve.out")).contains("Web console: http://localhost:" + console),
                    "the console's URL is printed");
            assertEquals(200, ready(console), "the console is up");
            long registryPid = pid(err, "registry");
            Faults.kill9(registryPid);
            assertTrue(await(err, "serve: registry ready again", 120), Files.readString(err));
            String log = Files.readString(err);
            assertTrue(log.contains("serve: registry (pid " + registryPid + ") stopped: killed by signal 9 (SIGKILL)"), log);
            assertTrue(log.contains("its last log lines:"), log);
            assertTrue(serve.isAlive(), "the script keeps running");
            assertEquals(200, ready(serving), "serving kept running");
            assertEquals(200, ready(registry), "the registry is back");
            assertTrue(!log.contains("serve: serving (pid"), "serving was never restarted");
        } finally {
            serve.destroy(); // SIGTERM
            assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "SIGTERM stops the script");
        }
        assertTrue(Files.readString(err).contains("serve: stopping"));
        assertTrue(ProcessHandle.allProcesses().noneMatch(p -> p.info().commandLine().orElse("").contains(dir.toString())),
                "no component outlives the script");
    }

    static long pid(Path err, String component) throws IOException {
        Matcher m = Pattern.compile("serve: " + component + " started \\(pid (\\d+)").matcher(Files.readString(err));
        long pid = -1;
        while (m.find()) {
            pid = Long.parseLong(m.group(1));
        }
        return pid;
    }

    static boolean await(Path file, String text, int seconds) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.readString(file).contains(text)) {
                return true;
            }
            Service.sleep(250);
        }
        return false;
    }

    static int ready(int port) throws Exception {
        HttpResponse<Void> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                + "/q/health/ready")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
        return r.statusCode();
    }
}
