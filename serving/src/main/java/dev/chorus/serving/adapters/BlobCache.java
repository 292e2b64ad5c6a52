package dev.chorus.serving.adapters;

import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterUnavailableException;
import dev.chorus.kafka.Sha256;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.jboss.logging.Logger;

/**
 * Adapter blobs from the registry, unpacked on local disk by sha256: {@code dir/<sha>/} with the two
 * PEFT files. A download is hash-checked before it is unpacked, retried with backoff, and moved
 * into place whole; concurrent requests for one blob share one download. A registry that cannot be
 * reached (or answers 5xx) is a transient {@link AdapterUnavailableException}, bounded in time; a
 * blob the registry does not have or holds damaged is the adapter's fault ({@link AdapterFormatException}).
 */
public final class BlobCache {
    private static final Logger LOG = Logger.getLogger(BlobCache.class);
    private static final int ATTEMPTS = 3;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final Path dir;
    private final URI registry;
    private final String authorization;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ConcurrentMap<String, CompletableFuture<Path>> inFlight = new ConcurrentHashMap<>();

    public BlobCache(Path dir, URI registry, String apiKey) {
        this.dir = dir;
        this.registry = registry;
        this.authorization = "Bearer " + apiKey;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the adapter cache directory " + dir, e);
        }
    }

    /** Whether blob {@code sha} is already unpacked on local disk (getting it does not download). */
    boolean cached(String sha) {
        return Files.isDirectory(dir.resolve(sha));
    }

    /** The unpacked adapter directory of blob {@code sha}, downloading it first when needed. Blocks. */
    Path get(String sha) {
        Path target = dir.resolve(sha);
        if (Files.isDirectory(target)) {
            return target;
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = inFlight.putIfAbsent(sha, mine);
        if (running != null) {
            return running.join();
        }
        try {
            Path result = download(sha, target);
            mine.complete(result);
            return result;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(sha);
        }
    }

    private Path download(String sha, Path target) {
        RuntimeException last = null;
        boolean transientFailure = false;
        long backoff = 100;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                byte[] zip = fetch(sha);
                String actual = Sha256.hex(zip);
                if (!actual.equals(sha)) {
                    throw new AdapterFormatException("blob " + sha + " arrived damaged (hashes to " + actual + ")");
                }
                unpack(zip, target);
                return target;
            } catch (BlobMissingException | DamagedOnRegistryException e) {
                throw e; // retrying will not help
            } catch (RegistryUnavailableException e) {
                last = e;
                transientFailure = true;
            } catch (RuntimeException e) {
                last = e;
                transientFailure = false;
            }
            if (attempt == ATTEMPTS) {
                break;
            }
            LOG.warnf("fetching blob %s failed (attempt %d of %d): %s", sha, attempt, ATTEMPTS, last.getMessage());
            sleep(backoff);
            backoff *= 2;
        }
        if (transientFailure) {
            throw new AdapterUnavailableException(last.getMessage() + "; retry shortly", last);
        }
        throw new AdapterFormatException("cannot fetch adapter blob " + sha + " from the registry: " + last.getMessage(), last);
    }

    private byte[] fetch(String sha) {
        HttpRequest request = HttpRequest.newBuilder(registry.resolve("/v1/blobs/" + sha))
                .header("Authorization", authorization).timeout(REQUEST_TIMEOUT).GET().build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new RegistryUnavailableException("the adapter registry at " + registry + " cannot be reached (" + reason(e) + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryUnavailableException("interrupted while fetching blob " + sha, e);
        }
        int status = response.statusCode();
        if (status == 404) {
            throw new BlobMissingException("blob " + sha + " not found in the registry");
        }
        if (status == 500 && new String(response.body(), StandardCharsets.UTF_8).contains("\"corrupt_blob\"")) {
            throw new DamagedOnRegistryException("the registry's copy of blob " + sha + " is damaged; the adapter must be uploaded again");
        }
        if (status == 429 || status >= 500) {
            throw new RegistryUnavailableException("the adapter registry answered " + status + " for blob " + sha, null);
        }
        if (status != 200) {
            throw new IllegalStateException("the adapter registry answered " + status + " for blob " + sha);
        }
        return response.body();
    }

    private void unpack(byte[] zip, Path target) {
        Path temp = null;
        try {
            temp = Files.createTempDirectory(dir, "incoming-");
            try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
                ZipEntry entry;
                while ((entry = in.getNextEntry()) != null) {
                    String name = entry.getName();
                    if (entry.isDirectory() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                        throw new AdapterFormatException("blob holds an unexpected entry '" + name + "'");
                    }
                    Files.copy(in, temp.resolve(name));
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            deleteTree(temp); // another thread or process unpacked it meanwhile
        } catch (IOException e) {
            deleteTree(temp);
            throw new UncheckedIOException("cannot unpack blob into " + target, e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof HttpTimeoutException) {
            return "no answer within " + REQUEST_TIMEOUT.toSeconds() + " s";
        }
        if (e instanceof ConnectException) {
            return "connection refused";
        }
        return e.getMessage() != null ? e.getMessage() : "connection failed";
    }

    /** The registry cannot be reached or is failing: try again later. */
    static final class RegistryUnavailableException extends RuntimeException {
        RegistryUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The registry holds the blob damaged (it said so, and withdrew it). */
    static final class DamagedOnRegistryException extends AdapterFormatException {
        DamagedOnRegistryException(String message) {
            super(message);
        }
    }

    /** The registry does not have the blob (deleted since the manifest was read, or never stored). */
    static final class BlobMissingException extends AdapterFormatException {
        BlobMissingException(String message) {
            super(message);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path p) {
        if (p == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(p)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // leftovers in the cache directory are harmless
        }
    }
}
