package dev.chorus.registry;

import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.InvalidModelException;
import dev.chorus.engine.llama.ModelConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * Checks a version's merged artifact before anything is stored: a zip of the directory a merge
 * writes (config.json, chorus_compression.json, model.safetensors and the base's tokenizer files, at
 * the archive's root), unpacked within the size limit, that reads as a compressed checkpoint of the
 * registry's base shape and was made for the registry's base. The archive is stored as sent: its
 * sha256 is what the merger computed.
 */
final class MergedUpload {
    private static final Set<String> REQUIRED = Set.of("config.json", CompressedCheckpoint.MANIFEST, "model.safetensors");
    private static final Set<String> ALLOWED = allowed();

    /** The archive and the base fingerprint it was merged into. */
    record Validated(byte[] archive, String baseFingerprint) {
    }

    private final ModelConfig base;
    private final String baseFingerprint;
    private final long maxBytes;

    MergedUpload(ModelConfig base, String baseFingerprint, long maxBytes) {
        this.base = base;
        this.baseFingerprint = baseFingerprint;
        this.maxBytes = maxBytes;
    }

    /**
     * Validates {@code zip}; {@code claimedBase} (null: not stated) must be this registry's base, the
     * one every version of it was checked against and serving loads.
     */
    Validated validate(byte[] zip, String claimedBase) {
        if (claimedBase != null && !claimedBase.equals(baseFingerprint)) {
            throw new InvalidMergedModelException("merged into base " + claimedBase + ", but this registry's base is " + baseFingerprint);
        }
        Path dir = staging();
        try {
            unpack(zip, dir);
            CompressedParameters merged;
            try {
                merged = CompressedCheckpoint.read(dir); // every tensor's shape against the manifest and config
            } catch (InvalidModelException | IllegalArgumentException e) {
                throw new InvalidMergedModelException(e.getMessage().replace(dir + "/", "").replace(dir + ": ", "").replace(dir.toString(), "the archive"));
            }
            if (!merged.config().equals(base)) {
                throw new InvalidMergedModelException("the merged model's config.json " + merged.config() + " is not the base's " + base);
            }
            return new Validated(zip, baseFingerprint);
        } finally {
            deleteTree(dir);
        }
    }

    private void unpack(byte[] zip, Path dir) {
        Set<String> found = new HashSet<>();
        long total = 0;
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                String name = entry.getName();
                if (entry.isDirectory() || !ALLOWED.contains(name)) {
                    throw new InvalidMergedModelException("archive entry '" + name + "' is not a file of a merged checkpoint's directory ("
                            + ALLOWED.stream().sorted().toList() + ", at the archive's root)");
                }
                if (!found.add(name)) {
                    throw new InvalidMergedModelException("the archive holds " + name + " twice");
                }
                total += inflate(in, dir.resolve(name), maxBytes - total);
            }
        } catch (ZipException e) {
            throw new InvalidMergedModelException("not a valid zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidMergedModelException("cannot read the archive: " + e.getMessage());
        }
        if (!found.containsAll(REQUIRED)) {
            throw new InvalidMergedModelException("a merged checkpoint needs " + REQUIRED.stream().sorted().toList() + "; the archive holds "
                    + found.stream().sorted().toList());
        }
    }

    /** Copies one entry through a fixed buffer; refuses more than {@code remaining} bytes (a zip bomb costs at most the limit). */
    private long inflate(ZipInputStream in, Path target, long remaining) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                written += n;
                if (written > remaining) {
                    throw new UploadTooLargeException("the merged archive unpacks to more than " + maxBytes + " bytes");
                }
                out.write(buffer, 0, n);
            }
        }
        return written;
    }

    private static Set<String> allowed() {
        Set<String> names = new HashSet<>(REQUIRED);
        names.addAll(Checkpoint.COMPANION_FILES);
        return Set.copyOf(names);
    }

    private static Path staging() {
        try {
            return Files.createTempDirectory("chorus-merged-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage a merged artifact for validation", e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
