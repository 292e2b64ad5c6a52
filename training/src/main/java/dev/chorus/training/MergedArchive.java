package dev.chorus.training;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A merged checkpoint as the registry stores it: a zip of exactly the files of the directory a merge
 * wrote, at the archive's root, in name order with a fixed time, so the same merge always makes the
 * same blob (and a repeated attach changes nothing).
 */
final class MergedArchive {
    private static final long FIXED_TIME = 315_532_800_000L; // 1980-01-01, the zip epoch

    private MergedArchive() {
    }

    static byte[] zip(Path dir) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes); Stream<Path> listing = Files.list(dir)) {
            List<Path> files = listing.filter(Files::isRegularFile).sorted().toList();
            for (Path f : files) {
                ZipEntry entry = new ZipEntry(f.getFileName().toString());
                entry.setTime(FIXED_TIME);
                zip.putNextEntry(entry);
                Files.copy(f, zip);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot zip the merged checkpoint in " + dir + ": " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }
}
