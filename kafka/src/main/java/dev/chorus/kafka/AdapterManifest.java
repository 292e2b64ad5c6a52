package dev.chorus.kafka;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The state of one tenant's adapter, as the registry publishes it on the compacted
 * {@code chorus.adapters} topic keyed by {@link #key()}: every live version with its blob, the
 * active version, and the next version number. A deleted adapter keeps its record with no versions
 * (active 0), not a tombstone: version numbers are never reused, so a version number always names
 * the same weights, in every cache.
 *
 * <p>Schema 2 added each version's {@link Provenance}; a schema-1 record reads with none. Schema 3
 * added each version's {@link MergedArtifact}; older records read with none.
 */
public record AdapterManifest(int schemaVersion, String tenant, String name, int activeVersion, int nextVersion,
        List<Version> versions, Instant updatedAt) {
    public static final int SCHEMA_VERSION = 3;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern FINGERPRINT = Pattern.compile("sha256:[0-9a-f]{64}");

    /**
     * One immutable version: its PEFT files live in the blob {@code blobSha256} (a zip of the two
     * files). {@code provenance}: where it came from when a job produced it; null for an upload.
     * {@code merged}: the compressed model this version was merged into, once re-merged (merged-only
     * types); null before that and for types served unmerged.
     */
    public record Version(int version, String blobSha256, long sizeBytes, String type, int rank, List<String> targetModules,
            String baseFingerprint, Instant createdAt, Provenance provenance, MergedArtifact merged) {
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
            if (provenance != null && provenance.parentVersion() != null && provenance.parentVersion() >= version) {
                throw new IllegalArgumentException("parentVersion must be older than the version");
            }
        }

        /** A version not (yet) merged. */
        public Version(int version, String blobSha256, long sizeBytes, String type, int rank, List<String> targetModules,
                String baseFingerprint, Instant createdAt, Provenance provenance) {
            this(version, blobSha256, sizeBytes, type, rank, targetModules, baseFingerprint, createdAt, provenance, null);
        }

        /** An uploaded version (no provenance), not (yet) merged. */
        public Version(int version, String blobSha256, long sizeBytes, String type, int rank, List<String> targetModules,
                String baseFingerprint, Instant createdAt) {
            this(version, blobSha256, sizeBytes, type, rank, targetModules, baseFingerprint, createdAt, null, null);
        }

        /** This version with its merged artifact attached (or detached, for null). */
        public Version withMerged(MergedArtifact artifact) {
            return new Version(version, blobSha256, sizeBytes, type, rank, targetModules, baseFingerprint, createdAt, provenance, artifact);
        }
    }

    /**
     * A version merged into the compressed base: blob {@code sha256} ({@code sizeBytes} bytes) is a
     * zip of the merged compressed checkpoint's directory, made for the base whose engine fingerprint
     * is {@code baseFingerprint}; a server whose base has another fingerprint cannot use it.
     */
    public record MergedArtifact(String sha256, long sizeBytes, String baseFingerprint) {
        public MergedArtifact {
            if (sha256 == null || !SHA256.matcher(sha256).matches()) {
                throw new IllegalArgumentException("merged sha256 must be 64 lowercase hex digits");
            }
            if (sizeBytes < 0) {
                throw new IllegalArgumentException("merged sizeBytes must be >= 0");
            }
            if (baseFingerprint == null || !FINGERPRINT.matcher(baseFingerprint).matches()) {
                throw new IllegalArgumentException("merged baseFingerprint must be sha256: and 64 lowercase hex digits");
            }
        }
    }

    /**
     * How a version was produced: continued from {@code parentVersion} (null: trained from scratch)
     * by fine-tuning job {@code jobId}, with its evaluation {@code metrics} (held-out losses, ...)
     * and the gate's verdict on promoting it.
     */
    public record Provenance(Integer parentVersion, String jobId, Map<String, Double> metrics, GateVerdict gate) {
        private static final Pattern JOB_ID = Pattern.compile("ftjob-[A-Za-z0-9]{1,64}");
        private static final Pattern METRIC = Pattern.compile("[a-z][a-z0-9_]{0,63}");
        public static final int MAX_METRICS = 32;

        public Provenance {
            if (parentVersion != null && parentVersion < 1) {
                throw new IllegalArgumentException("parentVersion must be >= 1");
            }
            if (jobId != null && !JOB_ID.matcher(jobId).matches()) {
                throw new IllegalArgumentException("jobId must look like ftjob-<letters and digits>");
            }
            metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
            if (metrics.size() > MAX_METRICS) {
                throw new IllegalArgumentException("at most " + MAX_METRICS + " metrics");
            }
            metrics.forEach((name, value) -> {
                if (!METRIC.matcher(name).matches() || value == null || !Double.isFinite(value)) {
                    throw new IllegalArgumentException("metric " + name + ": names are snake_case and values finite numbers");
                }
            });
        }
    }

    /** Whether the evaluation gate let the version go live, and why (for a rejection, what it compared). */
    public record GateVerdict(boolean passed, String reason) {
        public GateVerdict {
            if (reason != null && reason.length() > 1000) {
                throw new IllegalArgumentException("the gate's reason is at most 1000 characters");
            }
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
