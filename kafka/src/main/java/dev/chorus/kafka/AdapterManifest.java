package dev.chorus.kafka;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The state of one tenant's adapter, as the registry publishes it on the compacted
 * {@code chorus.adapters} topic keyed by {@link #key()}: every live version with its blob, the
 * active version, and the next version number (numbers are never reused, even after deletes).
 * Deleting the adapter publishes a tombstone for the key.
 */
public record AdapterManifest(int schemaVersion, String tenant, String name, int activeVersion, int nextVersion,
        List<Version> versions, Instant updatedAt) {
    public static final int SCHEMA_VERSION = 1;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** One immutable version: its PEFT files live in the blob {@code blobSha256} (a zip of the two files). */
    public record Version(int version, String blobSha256, long sizeBytes, String type, int rank, List<String> targetModules,
            String baseFingerprint, Instant createdAt) {
        public Version {
            if (version < 1) {
                throw new IllegalArgumentException("version must be >= 1");
            }
            if (blobSha256 == null || !SHA256.matcher(blobSha256).matches()) {
                throw new IllegalArgumentException("blobSha256 must be 64 lowercase hex digits");
            }
            if (sizeBytes < 0 || rank < 0) {
                throw new IllegalArgumentException("sizeBytes and rank must be >= 0");
            }
            Names.present("type", type);
            targetModules = List.copyOf(Names.present("targetModules", targetModules));
            Names.present("createdAt", createdAt);
        }
    }

    public AdapterManifest {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("unsupported schemaVersion " + schemaVersion + " (this build reads " + SCHEMA_VERSION + ")");
        }
        Names.require("tenant", tenant);
        Names.require("name", name);
        versions = Names.present("versions", versions).stream().sorted(Comparator.comparingInt(Version::version)).toList();
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("an adapter has at least one version (deleting the last one deletes the adapter)");
        }
        for (int i = 1; i < versions.size(); i++) {
            if (versions.get(i).version() == versions.get(i - 1).version()) {
                throw new IllegalArgumentException("version " + versions.get(i).version() + " appears twice");
            }
        }
        int active = activeVersion;
        if (versions.stream().noneMatch(v -> v.version() == active)) {
            throw new IllegalArgumentException("activeVersion " + activeVersion + " is not one of the versions");
        }
        if (nextVersion <= versions.get(versions.size() - 1).version()) {
            throw new IllegalArgumentException("nextVersion must exceed every existing version");
        }
        Names.present("updatedAt", updatedAt);
    }

    /** The record key on chorus.adapters: tenant/name. */
    public String key() {
        return key(tenant, name);
    }

    public static String key(String tenant, String name) {
        return tenant + "/" + name;
    }

    public Optional<Version> version(int number) {
        return versions.stream().filter(v -> v.version() == number).findFirst();
    }

    public Version active() {
        return version(activeVersion).orElseThrow();
    }
}
