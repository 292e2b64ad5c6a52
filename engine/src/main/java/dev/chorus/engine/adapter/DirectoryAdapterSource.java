package dev.chorus.engine.adapter;

import dev.chorus.engine.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Adapters from a local directory: {@code root/<tenant>/<name>/<version>/} holding the PEFT files
 * (version a positive integer). Every load is validated against the served base.
 */
public final class DirectoryAdapterSource implements AdapterSource {
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path root;
    private final ModelConfig base;
    private final int maxRank;
    private final String baseFingerprint;

    public DirectoryAdapterSource(Path root, ModelConfig base, int maxRank, String baseFingerprint) {
        this.root = root;
        this.base = base;
        this.maxRank = maxRank;
        this.baseFingerprint = baseFingerprint;
    }

    /** A tenant's adapters with their versions, newest last. */
    public TreeMap<String, List<Integer>> list(String tenant) {
        TreeMap<String, List<Integer>> out = new TreeMap<>();
        Path dir = tenantDir(tenant);
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        for (Path adapter : children(dir)) {
            String name = adapter.getFileName().toString();
            if (!SAFE_NAME.matcher(name).matches()) {
                continue;
            }
            List<Integer> versions = new ArrayList<>();
            for (Path v : children(adapter)) {
                parseVersion(v.getFileName().toString()).ifPresent(versions::add);
            }
            if (!versions.isEmpty()) {
                versions.sort(null);
                out.put(name, versions);
            }
        }
        return out;
    }

    /** The newest version of tenant/name, if any. */
    public Optional<Integer> latest(String tenant, String name) {
        List<Integer> versions = list(tenant).get(name);
        return versions == null ? Optional.empty() : Optional.of(versions.get(versions.size() - 1));
    }

    @Override
    public Adapter load(AdapterKey key) {
        Path dir = tenantDir(key.tenant());
        if (dir == null || !SAFE_NAME.matcher(key.name()).matches()) {
            throw new AdapterNotFoundException(key);
        }
        Path versionDir = dir.resolve(key.name()).resolve(Integer.toString(key.version()));
        if (!Files.isDirectory(versionDir)) {
            throw new AdapterNotFoundException(key);
        }
        return AdapterFiles.read(versionDir, base, maxRank, baseFingerprint);
    }

    /** Null for names that could escape the root (tenants come from configuration, but stay careful). */
    private Path tenantDir(String tenant) {
        return SAFE_NAME.matcher(tenant).matches() ? root.resolve(tenant) : null;
    }

    private static Optional<Integer> parseVersion(String text) {
        try {
            int v = Integer.parseInt(text);
            return v >= 1 && Integer.toString(v).equals(text) ? Optional.of(v) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static List<Path> children(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new AdapterFormatException(dir + ": cannot list adapters: " + e.getMessage(), e);
        }
    }
}
