package dev.chorus.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.Sha256;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalogue while its broker is away: every write fails within the write timeout (not
 * Kafka's 60 s metadata wait), different adapters do not queue behind each other, the failed
 * uploads' blobs are gone at once, the catalogue says it cannot be written, and once the broker is
 * back writes succeed again without a restart.
 */
class CatalogueOutageTest {
    static final Duration TIMEOUT = Duration.ofSeconds(4);

    @Test
    void writesDuringAnOutageFailFastPerAdapterAndLeaveNoBlobs(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), port);
        BlobStore blobs = new BlobStore(dir.resolve("blobs"));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (Catalogue catalogue = new Catalogue(KafkaConnection.plaintext(kafka.bootstrapServers()), TopicNames.DEFAULTS, blobs, TIMEOUT)) {
            AdapterManifest first = catalogue.addVersion("acme", "kept", upload("kept"), false, null);
            assertEquals(1, first.activeVersion());
            assertTrue(catalogue.writable());

            kafka.close();
            // Three writers at once, two tenants, three adapters: each answers within the timeout on its own.
            List<String> names = List.of("a", "b", "c");
            List<CompletableFuture<Long>> writes = names.stream().map(n -> CompletableFuture.supplyAsync(() -> {
                long start = System.nanoTime();
                try {
                    catalogue.addVersion(n.equals("b") ? "globex" : "acme", n, upload(n), false, null);
                    throw new AssertionError("a write without a broker succeeded");
                } catch (CatalogueUnavailableException e) {
                    return (System.nanoTime() - start) / 1_000_000;
                }
            }, pool)).toList();
            long slowest = 0;
            for (int i = 0; i < names.size(); i++) {
                long millis = writes.get(i).get();
                System.out.printf("outage write %s failed after %d ms (timeout %d ms)%n", names.get(i), millis, TIMEOUT.toMillis());
                slowest = Math.max(slowest, millis);
            }
            assertTrue(slowest <= TIMEOUT.toMillis() + 1500, "every write answers within the timeout, slowest " + slowest + " ms");
            for (String n : names) {
                assertFalse(blobs.exists(Sha256.hex(upload(n).archive())), "the blob of failed upload " + n + " is removed at once");
            }
            assertTrue(blobs.exists(first.versions().get(0).blobSha256()), "the stored adapter's blob stays");
            assertFalse(catalogue.writable(), "not writable while the broker is away");

            kafka = EmbeddedKafka.start(dir.resolve("kafka"), port);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            AdapterManifest after = null;
            while (after == null) {
                try {
                    after = catalogue.addVersion("acme", "a", upload("a"), false, null);
                } catch (CatalogueUnavailableException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                }
            }
            assertEquals(1, after.versions().size());
            assertTrue(blobs.exists(after.versions().get(0).blobSha256()));
            assertTrue(catalogue.writable(), "writable again without a restart");
            assertEquals(List.of("a", "kept"), catalogue.list("acme").stream().map(AdapterManifest::name).sorted().toList());
        } finally {
            pool.shutdownNow();
            kafka.close();
        }
    }

    /** A stand-in validated upload whose archive bytes are unique to {@code name}. */
    static AdapterUpload.Validated upload(String name) {
        return new AdapterUpload.Validated(("archive of " + name).getBytes(StandardCharsets.UTF_8), "lora", 4, List.of("q_proj"), null);
    }

}
