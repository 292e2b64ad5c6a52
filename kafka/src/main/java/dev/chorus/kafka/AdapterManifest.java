package dev.chorus.kafka;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The state of one tenant's adapter, as the registry publishes it on the compacted
 * {@code chorus.adapters} topic keyed by {@link #key()}: every live version with its blob, the
 * active version, and the next version number. A deleted adapter keeps its record with no versions
 * (active 0), not a tombstone: version numbers are never reused, so a version number always names
 * the same weights, in every cache.
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
            if (activeVersion != 0 || nextVersion < 1) {
                throw new IllegalArgumentException("a deleted adapter (no versions) has activeVersion 0 and nextVersion >= 1");
            }
        } else {
            checkVersions(versions, activeVersion, nextVersion);
        }
        Names.present("updatedAt", updatedAt);
    }

    private static void checkVersions(List<Version> versions, int activeVersion, int nextVersion) {
        for (int i = 1; i < versions.size(); i++) {
            if (versions.get(i).version() == versions.get(i - 1).version()) {
                throw new IllegalArgumentException("version " + versions.get(i).version() + " appears twice");
            }
        }
        if (versions.stream().noneMatch(v -> v.version() == activeVersion)) {
            throw new IllegalArgumentException("activeVersion " + activeVersion + " is not one of the versions");
        }
        if (nextVersion <= versions.get(versions.size() - 1).version()) {
            throw new IllegalArgumentException("nextVersion must exceed every existing version");
        }
    }

    /** Deleted: no versions left (the record stays so version numbers are never reused). */
    public boolean deleted() {
        return versions.isEmpty();
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

    /** The version new requests get; empty once deleted. */
    public Optional<Version> active() {
        return version(activeVersion);
    }
}
