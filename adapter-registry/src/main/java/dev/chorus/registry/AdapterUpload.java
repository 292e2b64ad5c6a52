package dev.chorus.registry;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Checks an uploaded adapter before anything is stored: archive structure and size, then the PEFT
 * files themselves against the base model the registry serves (safetensors header, config fields,
 * rank, target modules, shapes, base fingerprint). What passes is repacked into a canonical zip,
 * so the same two files always make the same blob.
 */
public final class AdapterUpload {
    private static final int MAX_ENTRIES = 16;
    private static final long FIXED_TIME = 315_532_800_000L; // 1980-01-01, the zip epoch: archives do not depend on upload time

    /** The two files, what they declare, and the canonical archive that is stored. */
    public record Validated(byte[] archive, String type, int rank, List<String> targetModules, String baseFingerprint) {
    }

    private final ModelConfig base;
    private final String baseFingerprint;
    private final int maxRank;
    private final long maxBytes;

    public AdapterUpload(ModelConfig base, String baseFingerprint, int maxRank, long maxBytes) {
        this.base = base;
        this.baseFingerprint = baseFingerprint;
        this.maxRank = maxRank;
        this.maxBytes = maxBytes;
    }

    /**
     * A zip holding adapter_config.json and adapter_model.safetensors (at its root or in one folder).
     * Entries are inflated as streams through a fixed buffer straight into a staging directory, so
     * an archive that inflates far beyond its size (a zip bomb) costs at most {@code maxBytes} of disk
     * and a buffer of memory before it is refused.
     */
    public Validated fromZip(byte[] zip) {
        Path dir = stagingDirectory();
        try {
            Set<String> found = new HashSet<>();
            long total = 0;
            int entries = 0;
            try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
                ZipEntry entry;
                while ((entry = in.getNextEntry()) != null) {
                    if (++entries > MAX_ENTRIES) {
                        throw new InvalidAdapterException("the archive holds more than " + MAX_ENTRIES + " entries");
                    }
                    String name = entry.getName();
                    if (name.startsWith("/") || name.contains("..") || name.contains("\\")) {
                        throw new InvalidAdapterException("archive entry '" + name + "' has an unsafe path");
                    }
                    if (entry.isDirectory()) {
                        continue;
                    }
                    String file = name.substring(name.lastIndexOf('/') + 1);
                    boolean wanted = file.equals(AdapterFiles.CONFIG) || file.equals(AdapterFiles.WEIGHTS);
                    if (wanted && !found.add(file)) {
                        throw new InvalidAdapterException("the archive holds " + file + " twice");
                    }
                    total += inflate(in, wanted ? dir.resolve(file) : null, maxBytes - total);
                }
            } catch (ZipException e) {
                throw new InvalidAdapterException("not a valid zip archive: " + e.getMessage());
            } catch (IOException e) {
                throw new InvalidAdapterException("cannot read the archive: " + e.getMessage());
            }
            if (entries == 0) {
                throw new InvalidAdapterException("not a zip archive, or an empty one (expected adapter_config.json and adapter_model.safetensors)");
            }
            if (found.size() < 2) {
                throw new InvalidAdapterException("an adapter needs both " + AdapterFiles.CONFIG + " and " + AdapterFiles.WEIGHTS);
            }
            return validated(dir);
        } finally {
            deleteTree(dir);
        }
    }

    /** Copies one entry through a fixed buffer to {@code target} (null: discarded); refuses more than {@code remaining} bytes. */
    private long inflate(ZipInputStream in, Path target, long remaining) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long written = 0;
        try (OutputStream out = target == null ? OutputStream.nullOutputStream() : Files.newOutputStream(target)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                written += n;
                if (written > remaining) {
                    throw new UploadTooLargeException("the archive unpacks to more than " + maxBytes + " bytes");
                }
                out.write(buffer, 0, n);
            }
        }
        return written;
    }

    /** The two PEFT files as uploaded (multipart). */
    public Validated fromFiles(byte[] config, byte[] weights) {
        if (config == null || weights == null) {
            throw new InvalidAdapterException("an adapter needs both " + AdapterFiles.CONFIG + " and " + AdapterFiles.WEIGHTS);
        }
        if ((long) config.length + weights.length > maxBytes) {
            throw new UploadTooLargeException("the adapter's files exceed " + maxBytes + " bytes");
        }
        Path dir = stagingDirectory();
        try {
            Files.write(dir.resolve(AdapterFiles.CONFIG), config);
            Files.write(dir.resolve(AdapterFiles.WEIGHTS), weights);
            return validated(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage an upload for validation", e);
        } finally {
            deleteTree(dir);
        }
    }

    /** Validates the two staged files and repacks them canonically. */
    private Validated validated(Path dir) {
        Adapter adapter;
        try {
            adapter = AdapterFiles.read(dir, base, maxRank, baseFingerprint);
        } catch (AdapterFormatException e) {
            // The reason without our staging directory's name.
            throw new InvalidAdapterException(e.getMessage().replace(dir + "/", "").replace(dir + ": ", ""));
        }
        List<String> targets = adapter.targets().stream().sorted(Comparator.naturalOrder()).map(Projection::moduleName).toList();
        try {
            byte[] archive = canonicalZip(Files.readAllBytes(dir.resolve(AdapterFiles.CONFIG)), Files.readAllBytes(dir.resolve(AdapterFiles.WEIGHTS)));
            return new Validated(archive, adapter.type().label(), adapter.rank(), targets, adapter.baseFingerprint());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a staged upload", e);
        }
    }

    private static Path stagingDirectory() {
        try {
            return Files.createTempDirectory("chorus-upload-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage an upload for validation", e);
        }
    }

    static byte[] canonicalZip(byte[] config, byte[] weights) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> file : List.of(Map.entry(AdapterFiles.CONFIG, config), Map.entry(AdapterFiles.WEIGHTS, weights))) {
                ZipEntry entry = new ZipEntry(file.getKey());
                entry.setTime(FIXED_TIME);
                zip.putNextEntry(entry);
                zip.write(file.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
