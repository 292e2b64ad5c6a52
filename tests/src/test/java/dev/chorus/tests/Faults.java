package dev.chorus.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** The fault suite's small library of injections: signals to processes, damaged files, floods of concurrent calls, and what they cost. */
final class Faults {
    private Faults() {
    }

    /** kill -9: no shutdown hook, no flush; a crash. */
    static void kill9(long pid) {
        signal(pid, "KILL");
        ProcessHandle.of(pid).ifPresent(p -> p.onExit().orTimeout(10, TimeUnit.SECONDS).join());
    }

    /** SIGSTOP: the process is frozen, its sockets stay open (a hung machine, a long GC pause). */
    static void pause(long pid) {
        signal(pid, "STOP");
    }

    /** SIGCONT after {@link #pause}. */
    static void resume(long pid) {
        signal(pid, "CONT");
    }

    /** Flips one bit in the middle of {@code file}. */
    static void corrupt(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 0x01;
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code n} copies of {@code call} at once and returns their results in order (a full queue, a flood, a storm). */
    static <T> List<T> fill(int n, Callable<T> call) {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(call));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(5, TimeUnit.MINUTES));
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException("a concurrent call failed", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A flood running in its own process ({@link Flooder}). */
    record Flood(Process process, java.io.BufferedReader output) {
        boolean running() {
            return process.isAlive();
        }

        /** The count of each status the flood's requests got, once all are answered. */
        String statuses() throws IOException, InterruptedException {
            String line = output.readLine();
            process.waitFor(3, TimeUnit.MINUTES);
            return line;
        }
    }

    /**
     * Starts {@code oversized} ~1 MB prompts and {@code valid} long prompts at once from another process
     * (a hostile tenant is another client), and returns once they are being sent.
     */
    static Flood flood(java.net.URI completions, String authorization, int oversized, int valid) {
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp",
                    System.getProperty("java.class.path"), Flooder.class.getName(), completions.toString(), authorization,
                    Integer.toString(oversized), Integer.toString(valid)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            if (!"started".equals(out.readLine())) {
                throw new IllegalStateException("the flooder did not start");
            }
            return new Flood(p, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The resident set of a process, from /proc (Linux). */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    private static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
