package dev.chorus.registry;

import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.eclipse.microprofile.config.ConfigProvider;

/** PEFT adapter files for the registry's base model, as a client would upload them. */
final class TestUploads {
    private TestUploads() {
    }

    static ModelConfig base() {
        return HfCheckpoint.readConfig(Path.of(ConfigProvider.getConfig().getValue("chorus.registry.base-model", String.class)));
    }

    /** adapter_config.json and adapter_model.safetensors of a random adapter. */
    static Map<String, byte[]> files(AdapterType type, int rank, long seed) {
        return files(base(), type, rank, seed);
    }

    static Map<String, byte[]> files(ModelConfig config, AdapterType type, int rank, long seed) {
        try {
            Path dir = Files.createTempDirectory("chorus-test-adapter-");
            Path out = dir.resolve("a");
            AdapterFiles.write(RandomAdapters.generate(config, type, rank, EnumSet.allOf(Projection.class), 0.05, seed, null), out);
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put(AdapterFiles.CONFIG, Files.readAllBytes(out.resolve(AdapterFiles.CONFIG)));
            files.put(AdapterFiles.WEIGHTS, Files.readAllBytes(out.resolve(AdapterFiles.WEIGHTS)));
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] zip(AdapterType type, int rank, long seed) {
        return zip(files(type, rank, seed));
    }

    /** A zip of the given entries, in order. */
    static byte[] zip(Map<String, byte[]> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Path blobDir() {
        return Path.of(ConfigProvider.getConfig().getValue("chorus.registry.blob-directory", String.class));
    }
}
