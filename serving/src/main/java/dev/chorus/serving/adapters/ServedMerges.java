package dev.chorus.serving.adapters;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergedModels;
import dev.chorus.kafka.AdapterManifest;
import java.util.Optional;

/**
 * Which versions serving runs merged, from the catalogue: a version whose merged artifact was made
 * for the served base (same fingerprint) runs on it, fetched like an adapter blob (hash-checked,
 * cached); a merged-only version without one is still being merged; the rest may be merged on
 * demand ({@code dynamic}, absent when dynamic merging is off).
 */
public final class ServedMerges implements MergedModels {
    private final RegistryAdapters catalogue;
    private final BlobCache blobs;
    private final String baseFingerprint;
    private final AdapterMerges dynamic; // null: no dynamic merging

    public ServedMerges(RegistryAdapters catalogue, String baseFingerprint, AdapterMerges dynamic) {
        this.catalogue = catalogue;
        this.blobs = catalogue.blobs();
        this.baseFingerprint = baseFingerprint;
        this.dynamic = dynamic;
    }

    @Override
    public Form form(AdapterKey key) {
        Optional<AdapterManifest.Version> version = catalogue.version(key);
        if (version.isEmpty()) {
            return Form.UNMERGED;
        }
        if (artifact(version.get()).isPresent()) {
            return Form.MERGED_ONLY;
        }
        if (mergedOnly(version.get())) {
            return Form.AWAITING_MERGE;
        }
        return dynamic == null ? Form.UNMERGED : dynamic.form(key);
    }

    @Override
    public CompressedParameters merged(AdapterKey key) {
        Optional<AdapterManifest.MergedArtifact> artifact = catalogue.version(key).flatMap(this::artifact);
        if (artifact.isPresent()) {
            return CompressedCheckpoint.read(blobs.get(artifact.get().sha256()));
        }
        if (dynamic == null) {
            throw new IllegalStateException(key + " has no merged model for this base");
        }
        return dynamic.merged(key);
    }

    /** The version's merged model, if it was merged into the base served here. */
    private Optional<AdapterManifest.MergedArtifact> artifact(AdapterManifest.Version v) {
        return Optional.ofNullable(v.merged()).filter(m -> baseFingerprint.equals(m.baseFingerprint()));
    }

    private static boolean mergedOnly(AdapterManifest.Version v) {
        try {
            AdapterType type = AdapterType.parse(v.type());
            return type == AdapterType.SPARSE_PEFT || type == AdapterType.QA_SPARSE_PEFT;
        } catch (IllegalArgumentException e) {
            return false; // an unknown type fails when it loads, with the adapter's own error
        }
    }

    /** The version's kind as the catalogue names it, for the dynamic merges. */
    public static Optional<AdapterType> type(RegistryAdapters catalogue, AdapterKey key) {
        return catalogue.version(key).flatMap(v -> {
            try {
                return Optional.of(AdapterType.parse(v.type()));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        });
    }
}
