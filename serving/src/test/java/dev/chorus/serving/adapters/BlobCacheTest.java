package dev.chorus.serving.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterUnavailableException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Blob downloads against a stand-in registry: hash checks, retries, the local cache. */
class BlobCacheTest {
    HttpServer server;
    final AtomicInteger requests = new AtomicInteger();
    volatile int failuresBeforeSuccess;
    volatile boolean damage;
    volatile boolean corruptOnRegistry;
    volatile String lastAuthorization;
    byte[] blob;
    String sha;

    @BeforeEach
    void start() throws Exception {
        blob = zip("adapter_config.json", "{\"r\": 4}", "adapter_model.safetensors", "weights");
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/blobs/", exchange -> {
            requests.incrementAndGet();
            lastAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
            String wanted = exchange.getRequestURI().getPath().substring("/v1/blobs/".length());
            int status = !wanted.equals(sha) ? 404 : corruptOnRegistry ? 500 : requests.get() <= failuresBeforeSuccess ? 503 : 200;
            byte[] body = corruptOnRegistry ? "{\"error\":{\"code\":\"corrupt_blob\"}}".getBytes(StandardCharsets.UTF_8)
                    : status != 200 ? new byte[0] : damage ? flipped(blob) : blob;
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    BlobCache cache(Path dir) {
        return new BlobCache(dir, URI.create("http://127.0.0.1:" + server.getAddress().getPort()), "operator-key");
    }

    @Test
    void downloadsOnceUnpacksAndServesFromDisk(@TempDir Path dir) throws Exception {
        Path unpacked = cache(dir).get(sha);
        assertEquals(dir.resolve(sha), unpacked);
        assertArrayEquals("weights".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(unpacked.resolve("adapter_model.safetensors")));
        assertEquals("Bearer operator-key", lastAuthorization);
        cache(dir).get(sha); // a new cache on the same directory: no download
        assertEquals(1, requests.get());
    }

    @Test
    void retriesWithBackoffUntilTheRegistryAnswers(@TempDir Path dir) {
        failuresBeforeSuccess = 2;
        cache(dir).get(sha);
        assertEquals(3, requests.get());
    }

    @Test
    void aDamagedDownloadIsNeverUnpacked(@TempDir Path dir) throws Exception {
        damage = true;
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> cache(dir).get(sha));
        assertTrue(e.getMessage().contains("arrived damaged"), e.getMessage());
        assertTrue(Files.notExists(dir.resolve(sha)));
        assertEquals(3, requests.get(), "retried, in case the damage happened in transit");
    }

    @Test
    void anUnreachableRegistryIsTransientAndFailsFast(@TempDir Path dir) {
        int port = server.getAddress().getPort();
        server.stop(0);
        long start = System.nanoTime();
        AdapterUnavailableException e = assertThrows(AdapterUnavailableException.class,
                () -> new BlobCache(dir, URI.create("http://127.0.0.1:" + port), "operator-key").get(sha));
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("unreachable registry: failed after %d ms: %s%n", millis, e.getMessage());
        assertTrue(e.getMessage().contains("cannot be reached (connection refused)"), e.getMessage());
        assertFalse(e.getMessage().contains("null"), e.getMessage());
        assertTrue(millis < 3000, "three quick attempts, not a long wait: " + millis + " ms");
    }

    @Test
    void aFailingRegistryIsTransient(@TempDir Path dir) {
        failuresBeforeSuccess = 100;
        AdapterUnavailableException e = assertThrows(AdapterUnavailableException.class, () -> cache(dir).get(sha));
        assertTrue(e.getMessage().contains("answered 503"), e.getMessage());
        assertEquals(3, requests.get());
    }

    @Test
    void aBlobTheRegistryHoldsDamagedIsTheAdaptersFaultAtOnce(@TempDir Path dir) {
        corruptOnRegistry = true;
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> cache(dir).get(sha));
        assertTrue(e.getMessage().contains("damaged"), e.getMessage());
        assertEquals(1, requests.get());
    }

    @Test
    void anUnknownBlobFailsAtOnce(@TempDir Path dir) {
        AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> cache(dir).get("0".repeat(64)));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        assertEquals(1, requests.get());
    }

    static byte[] flipped(byte[] data) {
        byte[] copy = data.clone();
        copy[copy.length / 2] ^= 1;
        return copy;
    }

    static byte[] zip(String... namesAndContents) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                zip.putNextEntry(new ZipEntry(namesAndContents[i]));
                zip.write(namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
