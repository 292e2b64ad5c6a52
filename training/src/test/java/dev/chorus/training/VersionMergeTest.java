package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.compress.Calibration;
import dev.chorus.engine.compress.CompressionListener;
import dev.chorus.engine.compress.CompressionSettings;
import dev.chorus.engine.compress.Compressor;
import dev.chorus.engine.compress.PruningMethod;
import dev.chorus.engine.compress.Quantization;
import dev.chorus.engine.compress.SparsityPattern;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.finetune.TrainingBase;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.Sha256;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One re-merge against a stub registry (a unit test cannot start the registry; the tests module runs
 * it for real): a qa-sparse-peft version of a 50 % + INT4 base is downloaded, merged keeping the base's
 * mask and grid, zipped deterministically and attached with the base's fingerprint; versions that can
 * never merge into this base are refused before anything is downloaded or attached.
 */
class VersionMergeTest {
    static final Path SOURCE = Path.of(System.getProperty("test.shared.dir"), "models", "TinyStories-656K");
    @TempDir
    static Path dir;
    static Path base;
    static TrainingBase training;

    HttpServer server;
    RegistryClient registry;
    final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    final List<String> attached = new CopyOnWriteArrayList<>(); // "path?query"
    final List<byte[]> attachedBodies = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void compressTheBase() throws IOException {
        try (LoadedModel dense = LoadedModel.load(SOURCE, Optional.empty(), "cpu")) {
            CompressionSettings settings = new CompressionSettings(new SparsityPattern.Unstructured(0.5), PruningMethod.WANDA, Optional.empty(),
                    new Quantization.GroupWise(new QuantSpec(4, 128, false), false));
            CompressedParameters compressed = new Compressor(HfCheckpoint.read(SOURCE), settings, CompressionListener.NONE)
                    .compress(Calibration.selfGenerated(dense, 8, 64, 11), Fingerprint.of(SOURCE), "self:8", dense.manager());
            base = dir.resolve("w50-int4");
            CompressedCheckpoint.write(compressed, base, Checkpoints.open(SOURCE).companionFiles());
        }
        training = TrainingBase.open(base);
    }

    @AfterAll
    static void close() {
        training.close();
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::answer);
        server.start();
        registry = new RegistryClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), "operator-key", Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void answer(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        byte[] body = x.getRequestBody().readAllBytes();
        if (x.getRequestMethod().equals("GET") && path.startsWith("/v1/blobs/") && blobs.containsKey(path.substring(10))) {
            reply(x, 200, blobs.get(path.substring(10)));
        } else if (x.getRequestMethod().equals("PUT") && path.endsWith("/merged")) {
            attached.add(path + "?" + x.getRequestURI().getQuery());
            attachedBodies.add(body);
            reply(x, 200, "{}".getBytes());
        } else {
            reply(x, 404, "{\"error\":{\"message\":\"unknown\"}}".getBytes());
        }
    }

    private static void reply(HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
        x.close();
    }

    /** Stores {@code adapter}'s zip in the stub and returns its version record. */
    private AdapterManifest.Version version(Adapter adapter, String fingerprint) {
        byte[] zip = AdapterArchive.zip(adapter, dir.resolve("upload-" + System.nanoTime()));
        String sha = Sha256.hex(zip);
        blobs.put(sha, zip);
        return new AdapterManifest.Version(3, sha, zip.length, adapter.type().label(), adapter.rank(), List.of("q_proj"), fingerprint,
                Instant.EPOCH);
    }

    private VersionMerge merge() {
        return new VersionMerge(training, registry, dir.resolve("work"), 64);
    }

    @Test
    void aQaSparsePeftVersionIsMergedOnTheBasesGridAndAttached() throws IOException {
        Adapter adapter = RandomAdapters.generate(training.config(), AdapterType.QA_SPARSE_PEFT, 4, EnumSet.allOf(Projection.class), 0.2, 3,
                training.fingerprint());
        AdapterManifest.Version v = version(adapter, training.fingerprint());
        VersionMerge.Merged first = merge().run("acme", "sqft", v);

        assertEquals(List.of("/v1/tenants/acme/adapters/sqft/versions/3/merged?base_fingerprint=" + training.fingerprint()), attached);
        byte[] zip = attachedBodies.get(0);
        assertEquals(Sha256.hex(zip), first.sha256());
        assertEquals(zip.length, first.sizeBytes());
        Path unpacked = dir.resolve("attached");
        Files.createDirectories(unpacked);
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                Files.copy(in, unpacked.resolve(e.getName()));
            }
        }
        CompressedParameters merged = CompressedCheckpoint.read(unpacked);
        CompressedParameters original = CompressedCheckpoint.read(base);
        int changed = 0;
        for (int layer = 0; layer < original.blocks().size(); layer++) {
            for (Projection p : Projection.values()) {
                QuantizedMatrix b = (QuantizedMatrix) original.blocks().get(layer).linear(p);
                QuantizedMatrix m = (QuantizedMatrix) merged.blocks().get(layer).linear(p);
                assertEquals(b.mask(), m.mask(), "the base's mask");
                assertArrayEquals(b.scales(), m.scales(), "the base's scales");
                assertArrayEquals(b.zeros(), m.zeros(), "the base's zero points");
                changed += Arrays.equals(b.codes(), m.codes()) ? 0 : 1;
            }
        }
        assertEquals(2 * Projection.values().length, changed, "every targeted linear got new codes");
        assertTrue(Files.exists(unpacked.resolve("tokenizer.json")), "the base's tokenizer travels with it");

        // The same version merged again (a restart, another instance): the same bytes, so re-attaching changes nothing.
        merge().run("acme", "sqft", v);
        assertArrayEquals(zip, attachedBodies.get(1));
    }

    @Test
    void versionsThatCanNeverMergeHereAreRefusedBeforeAnyDownload() {
        Adapter adapter = RandomAdapters.generate(training.config(), AdapterType.SPARSE_PEFT, 4, EnumSet.allOf(Projection.class), 0.2, 4, null);
        AdapterManifest.Version elsewhere = version(adapter, "sha256:" + "0".repeat(64));
        blobs.clear();
        VersionMerge.Refused e = assertThrows(VersionMerge.Refused.class, () -> merge().run("acme", "sqft", elsewhere));
        assertEquals("base_mismatch", e.reason);
        assertTrue(e.getMessage().contains(training.fingerprint()), e.getMessage());

        try (TrainingBase dense = TrainingBase.open(SOURCE)) {
            Adapter onDense = RandomAdapters.generate(dense.config(), AdapterType.SPARSE_PEFT, 4, EnumSet.allOf(Projection.class), 0.2, 5, null);
            AdapterManifest.Version v = version(onDense, null);
            e = assertThrows(VersionMerge.Refused.class, () -> new VersionMerge(dense, registry, dir.resolve("work"), 64).run("acme", "d", v));
            assertEquals("base_not_compressed", e.reason);
        }
        assertEquals(List.of(), attached, "nothing attached");
    }

    @Test
    void aBlobThatDoesNotMatchItsHashIsAFailureToRetry() {
        Adapter adapter = RandomAdapters.generate(training.config(), AdapterType.QA_SPARSE_PEFT, 4, EnumSet.allOf(Projection.class), 0.2, 6, null);
        AdapterManifest.Version v = version(adapter, null);
        blobs.put(v.blobSha256(), "tampered".getBytes());
        assertThrows(RegistryException.class, () -> merge().run("acme", "sqft", v));
        assertEquals(List.of(), attached);
    }
}
