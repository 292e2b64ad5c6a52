package dev.chorus.serving.adapters;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergedModels;
import dev.chorus.kafka.AdapterManifest;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * Which versions serving runs merged, from the catalogue: a version whose merged artifact was made
 * for the served base (same fingerprint) runs on it, fetched like an adapter blob (hash-checked,
 * cached); a merged-only version without one is still being merged; the rest may be merged on
 * demand ({@code dynamic}, absent when dynamic merging is off).
 */
public final class ServedMerges implements MergedModels {
    private final Function<AdapterKey, Optional<AdapterManifest.Version>> catalogue;
    private final Function<String, Path> blobs; // sha256 -> unpacked directory, hash-checked and cached
    private final String baseFingerprint;
    private final AdapterMerges dynamic; // null: no dynamic merging

    ServedMerges(Function<AdapterKey, Optional<AdapterManifest.Version>> catalogue, Function<String, Path> blobs, String baseFingerprint,
            AdapterMerges dynamic) {
        this.catalogue = catalogue;
        this.blobs = blobs;
        this.baseFingerprint = baseFingerprint;
        this.dynamic = dynamic;
    }

    /** Over the registry's catalogue and blob cache. */
    public static ServedMerges of(RegistryAdapters registry, String baseFingerprint, AdapterMerges dynamic) {
        return new ServedMerges(registry::version, registry.blobs()::get, baseFingerprint, dynamic);
    }

    @Override
    public Form form(AdapterKey key) {
        Optional<AdapterManifest.Version> version = catalogue.apply(key);
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
        Optional<AdapterManifest.MergedArtifact> artifact = catalogue.apply(key).flatMap(this::artifact);
        if (artifact.isPresent()) {
            return CompressedCheckpoint.read(blobs.apply(artifact.get().sha256()));
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
