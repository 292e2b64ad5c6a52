package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Adapters from a local directory: {@code root/<tenant>/<name>/<version>/} holding the PEFT files
 * (version a positive integer; the newest is active). Every load is validated against the served
 * base. Publish a version by writing it elsewhere and renaming it into place, so it appears whole.
 */
public final class DirectoryAdapterSource implements AdapterStore {
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

    @Override
    public List<Listing> adapters(String tenant) {
        List<Listing> out = new ArrayList<>();
        Path dir = tenantDir(tenant);
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        for (Path adapter : children(dir)) {
            String name = adapter.getFileName().toString();
            if (SAFE_NAME.matcher(name).matches()) {
                List<Integer> versions = versions(adapter);
                if (!versions.isEmpty()) {
                    out.add(new Listing(name, versions, versions.get(versions.size() - 1)));
                }
            }
        }
        return out;
    }

    @Override
    public Optional<AdapterKey> resolve(String tenant, String name, OptionalInt version) {
        Path dir = tenantDir(tenant);
        if (dir == null || !SAFE_NAME.matcher(name).matches() || !Files.isDirectory(dir.resolve(name))) {
            return Optional.empty();
        }
        List<Integer> versions = versions(dir.resolve(name));
        if (versions.isEmpty()) {
            return Optional.empty();
        }
        int v = version.orElse(versions.get(versions.size() - 1));
        return versions.contains(v) ? Optional.of(new AdapterKey(tenant, name, v)) : Optional.empty();
    }

    private static List<Integer> versions(Path adapter) {
        List<Integer> versions = new ArrayList<>();
        for (Path v : children(adapter)) {
            parseVersion(v.getFileName().toString()).ifPresent(versions::add);
        }
        versions.sort(null);
        return versions;
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
        try {
            return AdapterFiles.read(versionDir, base, maxRank, baseFingerprint);
        } catch (AdapterFormatException e) {
            // Callers see the reason, not this server's directory layout.
            String prefix = versionDir + ": ";
            String reason = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
            reason = reason.replace(versionDir.toString() + versionDir.getFileSystem().getSeparator(), "");
            throw new AdapterFormatException("adapter " + key.name() + "@" + key.version() + " is unusable: " + reason, e);
        }
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
        } catch (java.nio.file.NoSuchFileException e) {
            return List.of(); // removed while we looked: as if it never existed
        } catch (IOException e) {
            throw new AdapterFormatException(dir + ": cannot list adapters: " + e.getMessage(), e);
        }
    }
}
