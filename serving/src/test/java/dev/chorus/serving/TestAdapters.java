package dev.chorus.serving;

import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.Projection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.stream.Stream;
import org.eclipse.microprofile.config.ConfigProvider;

/** Writes adapters into the running application's adapters directory, the way an operator would. */
final class TestAdapters {
    private TestAdapters() {
    }

    static Path root() {
        return Path.of(ConfigProvider.getConfig().getValue("chorus.adapters.directory", String.class));
    }

    static Path model() {
        return Path.of(ConfigProvider.getConfig().getValue("chorus.model.path", String.class));
    }

    /** A random adapter for the served base, published whole: written beside the tenant tree, then renamed into place. */
    static void publish(String tenant, String name, int version, AdapterType type, int rank, long seed) {
        Path staging = root().resolve(".staging-" + tenant + "-" + name + "-" + version);
        deleteTree(staging);
        var adapter = RandomAdapters.generate(HfCheckpoint.readConfig(model()), type, rank, EnumSet.allOf(Projection.class), 0.2, seed,
                Fingerprint.of(model()));
        AdapterFiles.write(adapter, staging);
        moveIntoPlace(staging, tenant, name, version);
    }

    /** A version whose weights file is cut short: it lists, but cannot load. */
    static void publishCorrupt(String tenant, String name, int version) {
        Path staging = root().resolve(".staging-" + tenant + "-" + name + "-" + version);
        deleteTree(staging);
        var adapter = RandomAdapters.generate(HfCheckpoint.readConfig(model()), AdapterType.LORA, 4, EnumSet.allOf(Projection.class), 0.05, 1,
                null);
        AdapterFiles.write(adapter, staging);
        try {
            Path weights = staging.resolve(AdapterFiles.WEIGHTS);
            byte[] bytes = Files.readAllBytes(weights);
            Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        moveIntoPlace(staging, tenant, name, version);
    }

    private static void moveIntoPlace(Path staging, String tenant, String name, int version) {
        try {
            Path target = root().resolve(tenant).resolve(name).resolve(Integer.toString(version));
            Files.createDirectories(target.getParent());
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Removes an adapter left over from an earlier run. Test classes share one server (and its
     * adapter cache), so each uses adapter names of its own.
     */
    static void clear(String tenant, String name) {
        deleteTree(root().resolve(tenant).resolve(name));
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
