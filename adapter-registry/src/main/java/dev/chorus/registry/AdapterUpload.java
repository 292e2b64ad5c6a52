package dev.chorus.registry;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    /** A zip holding adapter_config.json and adapter_model.safetensors (at its root or in one folder). */
    public Validated fromZip(byte[] zip) {
        Map<String, byte[]> files = new HashMap<>();
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
                byte[] data = readLimited(in, maxBytes - total);
                total += data.length;
                String file = name.substring(name.lastIndexOf('/') + 1);
                if ((file.equals(AdapterFiles.CONFIG) || file.equals(AdapterFiles.WEIGHTS)) && files.put(file, data) != null) {
                    throw new InvalidAdapterException("the archive holds " + file + " twice");
                }
            }
        } catch (ZipException e) {
            throw new InvalidAdapterException("not a valid zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw new InvalidAdapterException("cannot read the archive: " + e.getMessage());
        }
        if (entries == 0) {
            throw new InvalidAdapterException("not a zip archive, or an empty one (expected adapter_config.json and adapter_model.safetensors)");
        }
        return fromFiles(files.get(AdapterFiles.CONFIG), files.get(AdapterFiles.WEIGHTS));
    }

    /** The two PEFT files as uploaded (multipart). */
    public Validated fromFiles(byte[] config, byte[] weights) {
        if (config == null || weights == null) {
            throw new InvalidAdapterException("an adapter needs both " + AdapterFiles.CONFIG + " and " + AdapterFiles.WEIGHTS);
        }
        if ((long) config.length + weights.length > maxBytes) {
            throw new UploadTooLargeException("the adapter's files exceed " + maxBytes + " bytes");
        }
        Adapter adapter = validate(config, weights);
        List<String> targets = adapter.targets().stream().sorted(Comparator.naturalOrder()).map(Projection::moduleName).toList();
        return new Validated(canonicalZip(config, weights), adapter.type().label(), adapter.rank(), targets, adapter.baseFingerprint());
    }

    private Adapter validate(byte[] config, byte[] weights) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("chorus-upload-");
            Files.write(dir.resolve(AdapterFiles.CONFIG), config);
            Files.write(dir.resolve(AdapterFiles.WEIGHTS), weights);
            return AdapterFiles.read(dir, base, maxRank, baseFingerprint);
        } catch (AdapterFormatException e) {
            // The reason without our temporary directory's name.
            String message = dir == null ? e.getMessage() : e.getMessage().replace(dir + "/", "").replace(dir + ": ", "");
            throw new InvalidAdapterException(message);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage an upload for validation", e);
        } finally {
            deleteTree(dir);
        }
    }

    private byte[] readLimited(ZipInputStream in, long remaining) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = in.read(buffer)) > 0) {
            if (out.size() + (long) n > remaining) {
                throw new UploadTooLargeException("the archive unpacks to more than " + maxBytes + " bytes");
            }
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
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
