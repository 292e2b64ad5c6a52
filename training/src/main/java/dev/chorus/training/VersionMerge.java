package dev.chorus.training;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.finetune.TrainingBase;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One version re-merged: its adapter blob downloaded from the registry (sha256-checked), read against
 * the base, folded into the compressed base by the engine's exact merge (the base's mask and grid
 * stay as they are), written as {@code chorus merge} writes it, zipped and attached to the version.
 */
final class VersionMerge {
    /** What was attached. */
    record Merged(String sha256, long sizeBytes, double seconds) {
    }

    /** A version that cannot be merged into this base whatever is retried (another base, a dense base, a broken adapter). */
    static final class Refused extends RuntimeException {
        final String reason;

        Refused(String reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    private final TrainingBase base;
    private final RegistryClient registry;
    private final Path workRoot;
    private final int maxRank;

    VersionMerge(TrainingBase base, RegistryClient registry, Path workRoot, int maxRank) {
        this.base = base;
        this.registry = registry;
        this.workRoot = workRoot;
        this.maxRank = maxRank;
    }

    Merged run(String tenant, String adapter, AdapterManifest.Version v) {
        long start = System.nanoTime();
        String label = tenant + "/" + adapter + "@" + v.version();
        if (v.baseFingerprint() != null && !v.baseFingerprint().equals(base.fingerprint())) {
            throw new Refused("base_mismatch", label + " was made for base " + v.baseFingerprint() + ", but this service's base is "
                    + base.fingerprint());
        }
        Path work = workRoot.resolve(tenant + "-" + adapter + "-" + v.version() + "-" + Long.toHexString(System.nanoTime()));
        try {
            AdapterArchive.unzip(registry.blob(v.blobSha256()), work.resolve("adapter"), 1L << 30);
            Adapter read;
            try {
                read = base.readAdapter(work.resolve("adapter"), maxRank);
            } catch (AdapterFormatException e) {
                throw new Refused("invalid_adapter", label + ": " + e.getMessage());
            }
            try {
                base.writeMerged(read, work.resolve("merged"));
            } catch (InvalidRequestException e) {
                throw new Refused("base_not_compressed", label + ": " + e.getMessage());
            }
            byte[] zip = MergedArchive.zip(work.resolve("merged"));
            registry.attachMerged(tenant, adapter, v.version(), zip, base.fingerprint());
            return new Merged(Sha256.hex(zip), zip.length, (System.nanoTime() - start) / 1e9);
        } finally {
            deleteQuietly(work);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a leftover work directory is harmless
        }
    }
}
