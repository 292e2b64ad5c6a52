package dev.chorus.serving.adapters;

import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.kafka.Sha256;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * into place whole; concurrent requests for one blob share one download.
 */
public final class BlobCache {
    private static final Logger LOG = Logger.getLogger(BlobCache.class);
    private static final int ATTEMPTS = 5;

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
            } catch (BlobMissingException e) {
                throw e; // the registry does not have it: retrying will not help
            } catch (RuntimeException e) {
                last = e;
            }
            LOG.warnf("fetching blob %s failed (attempt %d of %d): %s", sha, attempt, ATTEMPTS, last.getMessage());
            sleep(backoff);
            backoff *= 2;
        }
        throw new AdapterFormatException("cannot fetch adapter blob " + sha + " from the registry: " + last.getMessage(), last);
    }

    private byte[] fetch(String sha) {
        HttpRequest request = HttpRequest.newBuilder(registry.resolve("/v1/blobs/" + sha))
                .header("Authorization", authorization).timeout(Duration.ofSeconds(60)).GET().build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("registry unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (response.statusCode() == 404) {
            throw new BlobMissingException("blob " + sha + " not found in the registry");
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("registry answered " + response.statusCode() + " for blob " + sha);
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
