package dev.chorus.training;

import dev.chorus.kafka.Sha256;
import io.quarkus.runtime.Startup;
import io.vertx.core.json.JsonObject;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Uploaded training files, durable on disk: the content under {@code files/blobs/<sha256>}
 * (content-addressed, so the same bytes are stored once), a small JSON record per file under
 * {@code files/records/<id>.json}. Every write goes to a temporary file, is forced to disk and
 * renamed into place, so a crash leaves either nothing or a whole file. Records are read back at start.
 */
@Startup
@ApplicationScoped
public class FileStore {
    private static final Logger LOG = Logger.getLogger(FileStore.class);

    private final Path blobs;
    private final Path records;
    private final Map<String, TrainingFile> byId = new ConcurrentHashMap<>();

    public FileStore(DataDirectory data) {
        this.blobs = data.root().resolve("files").resolve("blobs");
        this.records = data.root().resolve("files").resolve("records");
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(records);
            try (Stream<Path> files = Files.list(records)) {
                files.filter(f -> f.getFileName().toString().endsWith(".json")).forEach(this::load);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the file store under " + data.root(), e);
        }
    }

    private void load(Path record) {
        try {
            TrainingFile f = fromJson(new JsonObject(Files.readString(record)));
            if (Files.isRegularFile(blob(f.sha256()))) {
                byId.put(f.id(), f);
            } else {
                LOG.warnf("file %s: its content %s is missing; leaving it out", f.id(), f.sha256());
            }
        } catch (IOException | RuntimeException e) { // unreadable, not JSON, or missing fields
            LOG.warnf("skipping unreadable file record %s: %s", record, e.getMessage());
        }
    }

    /** Checks {@code content} and stores it as a new file of {@code tenant}; nothing is stored when it is invalid. */
    public TrainingFile add(String tenant, String filename, String purpose, byte[] content) {
        TrainingFileFormat.Summary summary = TrainingFileFormat.check(content);
        String sha = Sha256.hex(content);
        TrainingFile file = new TrainingFile("file-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24), tenant, filename,
                content.length, Instant.now(), purpose, sha, summary.kind(), summary.examples());
        try {
            if (!Files.isRegularFile(blob(sha))) {
                writeDurably(blob(sha), content);
            }
            writeDurably(records.resolve(file.id() + ".json"), json(file).encode().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store " + filename, e);
        }
        byId.put(file.id(), file);
        return file;
    }

    public Optional<TrainingFile> get(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** The files of tenants {@code visible} accepts, newest first. */
    public List<TrainingFile> list(Predicate<String> visible) {
        List<TrainingFile> out = new ArrayList<>(byId.values().stream().filter(f -> visible.test(f.tenant())).toList());
        out.sort(Comparator.comparing(TrainingFile::createdAt).thenComparing(TrainingFile::id).reversed());
        return out;
    }

    public byte[] content(TrainingFile file) {
        try {
            return Files.readAllBytes(blob(file.sha256()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.id(), e);
        }
    }

    /** Deletes the file's record, and its content once no other file has the same bytes. */
    public synchronized void delete(TrainingFile file) {
        try {
            Files.deleteIfExists(records.resolve(file.id() + ".json"));
            byId.remove(file.id());
            if (byId.values().stream().noneMatch(f -> f.sha256().equals(file.sha256()))) {
                Files.deleteIfExists(blob(file.sha256()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file.id(), e);
        }
    }

    private Path blob(String sha256) {
        return blobs.resolve(sha256);
    }

    private static void writeDurably(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + UUID.randomUUID());
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            out.write(java.nio.ByteBuffer.wrap(bytes));
            out.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static JsonObject json(TrainingFile f) {
        return new JsonObject().put("id", f.id()).put("tenant", f.tenant()).put("filename", f.filename()).put("bytes", f.bytes())
                .put("created_at", f.createdAt().toString()).put("purpose", f.purpose()).put("sha256", f.sha256())
                .put("kind", f.kind().name()).put("examples", f.examples());
    }

    private static TrainingFile fromJson(JsonObject o) {
        return new TrainingFile(o.getString("id"), o.getString("tenant"), o.getString("filename"), o.getLong("bytes"),
                Instant.parse(o.getString("created_at")), o.getString("purpose"), o.getString("sha256"),
                TrainingFile.Kind.valueOf(o.getString("kind")), o.getInteger("examples"));
    }
}
