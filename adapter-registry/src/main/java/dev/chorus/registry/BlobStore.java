package dev.chorus.registry;

import dev.chorus.kafka.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Content-addressed files: {@code root/ab/abcdef…} named by the sha256 of their bytes. A blob is
 * written to a temporary file, fsynced, then renamed into place, so it is either whole or absent;
 * reading re-hashes it, and a blob whose bytes no longer match its name is moved aside, never served.
 */
public final class BlobStore {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path root;
    private final Path incoming;
    private final Path corrupt;
    private final AtomicLong damagedFound = new AtomicLong();

    public BlobStore(Path root) {
        this.root = root;
        this.incoming = root.resolve("incoming");
        this.corrupt = root.resolve("corrupt");
        try {
            Files.createDirectories(incoming);
            Files.createDirectories(corrupt);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the blob directory " + root, e);
        }
    }

    public static boolean isSha256(String text) {
        return text != null && SHA256.matcher(text).matches();
    }

    /** Stores {@code data} durably and returns its sha256; storing the same bytes twice keeps one file. */
    public String put(byte[] data) {
        String sha = Sha256.hex(data);
        Path target = path(sha);
        if (Files.exists(target)) {
            return sha;
        }
        Path temp = null;
        try {
            Files.createDirectories(target.getParent());
            temp = Files.createTempFile(incoming, sha.substring(0, 8), ".part");
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(java.nio.ByteBuffer.wrap(data));
                out.force(true);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException e) {
                Files.deleteIfExists(temp); // a concurrent upload of the same bytes won
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the blob directory's file system cannot rename atomically", e);
            }
            syncDirectory(target.getParent());
            forgetDamaged(sha);
            return sha;
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new UncheckedIOException("cannot store blob " + sha + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file of blob {@code sha}, after checking that its bytes still hash to {@code sha}.
     * Throws {@link BlobNotFoundException} when absent and {@link CorruptBlobException} when damaged.
     */
    public Path verified(String sha) {
        Path file = existing(sha);
        String actual;
        try (InputStream in = Files.newInputStream(file)) {
            actual = Sha256.hex(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read blob " + sha, e);
        }
        if (!actual.equals(sha)) {
            damagedFound.incrementAndGet();
            quarantine(sha, file);
            throw new CorruptBlobException("blob " + sha + " is damaged on disk (its bytes hash to " + actual + "); it was moved aside");
        }
        return file;
    }

    /** How many times a blob was found damaged (and withdrawn) since this store opened. */
    public long damagedFound() {
        return damagedFound.get();
    }

    /** Blobs found damaged and moved aside since they were last stored whole. */
    public Set<String> damaged() {
        Set<String> out = new HashSet<>();
        try (Stream<Path> files = Files.list(corrupt)) {
            files.map(p -> p.getFileName().toString()).map(n -> n.substring(0, Math.min(64, n.length()))).filter(BlobStore::isSha256)
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list damaged blobs in " + corrupt, e);
        }
        return out;
    }

    public boolean exists(String sha) {
        return isSha256(sha) && Files.isRegularFile(path(sha));
    }

    public long size(String sha) {
        try {
            return Files.size(existing(sha));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every stored blob's sha256. */
    public Set<String> list() {
        Set<String> out = new HashSet<>();
        try (Stream<Path> files = Files.walk(root, 2)) {
            files.filter(Files::isRegularFile)
                    .filter(p -> !p.startsWith(incoming) && !p.startsWith(corrupt))
                    .map(p -> p.getFileName().toString())
                    .filter(BlobStore::isSha256)
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list blobs in " + root, e);
        }
        return out;
    }

    /** Deletes blob {@code sha}; false when it was not there (or could not go: the next collection retries). */
    public boolean delete(String sha) {
        if (!exists(sha)) {
            return false;
        }
        try {
            return Files.deleteIfExists(path(sha));
        } catch (IOException e) {
            return false;
        }
    }

    private Path existing(String sha) {
        if (!exists(sha)) {
            throw new BlobNotFoundException(sha);
        }
        return path(sha);
    }

    private Path path(String sha) {
        return root.resolve(sha.substring(0, 2)).resolve(sha);
    }

    /** Stored whole again: earlier damaged copies no longer describe it. */
    private void forgetDamaged(String sha) {
        try (Stream<Path> files = Files.list(corrupt)) {
            files.filter(p -> p.getFileName().toString().startsWith(sha)).forEach(BlobStore::deleteQuietly);
        } catch (IOException ignored) {
            // a stale damaged copy only mislabels until the next upload of the same bytes
        }
    }

    private void quarantine(String sha, Path file) {
        try {
            Files.move(file, corrupt.resolve(sha + "." + System.currentTimeMillis()), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(file);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true); // makes the rename itself durable
        } catch (IOException e) {
            // not every platform can open a directory for sync; the file itself is already forced
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // garbage collection retries later
            }
        }
    }
}
