package dev.chorus.training;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/** An adapter version as the registry stores it: a zip of adapter_config.json and adapter_model.safetensors. */
final class AdapterArchive {
    private static final Set<String> FILES = Set.of(AdapterFiles.CONFIG, AdapterFiles.WEIGHTS);

    private AdapterArchive() {
    }

    /** Writes {@code adapter}'s PEFT files into {@code work} and returns them zipped. */
    static byte[] zip(Adapter adapter, Path work) {
        AdapterFiles.write(adapter, work);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (String name : FILES.stream().sorted().toList()) {
                zip.putNextEntry(new ZipEntry(name));
                Files.copy(work.resolve(name), zip);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Unpacks the two files of a registry blob into {@code dir}, each at most {@code maxBytes}
     * (the blob's hash was checked, but a bound costs nothing); anything else in the archive is ignored.
     */
    static void unzip(byte[] zip, Path dir, long maxBytes) {
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            Files.createDirectories(dir);
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                String name = Path.of(e.getName()).getFileName().toString();
                if (!e.isDirectory() && FILES.contains(name)) {
                    try (OutputStream out = Files.newOutputStream(dir.resolve(name))) {
                        copyAtMost(in, out, maxBytes, name);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the adapter archive: " + e.getMessage(), e);
        }
    }

    private static void copyAtMost(InputStream in, OutputStream out, long maxBytes, String name) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
            total += n;
            if (total > maxBytes) {
                throw new IOException(name + " unpacks to more than " + maxBytes + " bytes");
            }
            out.write(buffer, 0, n);
        }
    }
}
