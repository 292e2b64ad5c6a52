package dev.chorus.serving.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergedModels.Form;
import dev.chorus.kafka.AdapterManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which versions serving runs merged, decided from the catalogue alone: a merged artifact made for
 * the served base runs on its variant (read from its blob), one made for another base does not, a
 * merged-only version without one is still being merged, and the rest follow the dynamic merges.
 */
class ServedMergesTest {
    static final String BASE = "sha256:" + "b".repeat(64);
    static final Path MODEL = Path.of(System.getProperty("test.shared.dir", "../../shared"), "models/TinyStories-656K");
    static final String SHA = "a".repeat(64);
    static final String MERGED_SHA = "c".repeat(64);
    final Map<AdapterKey, AdapterManifest.Version> catalogue = new HashMap<>();

    static AdapterManifest.Version version(int v, AdapterType type, AdapterManifest.MergedArtifact merged) {
        return new AdapterManifest.Version(v, SHA, 10, type.label(), 8, List.of("q_proj"), BASE, Instant.EPOCH).withMerged(merged);
    }

    ServedMerges merges(Map<String, Path> blobs, AdapterMerges dynamic) {
        return new ServedMerges(k -> Optional.ofNullable(catalogue.get(k)), sha -> {
            Path p = blobs.get(sha);
            if (p == null) {
                throw new IllegalStateException("no blob " + sha);
            }
            return p;
        }, BASE, dynamic);
    }

    @Test
    void formsFollowTheCatalogue() {
        AdapterKey merged = new AdapterKey("acme", "sqft", 1);
        AdapterKey pending = new AdapterKey("acme", "sqft", 2);
        AdapterKey otherBase = new AdapterKey("acme", "sqft", 3);
        AdapterKey lora = new AdapterKey("acme", "chat", 1);
        catalogue.put(merged, version(1, AdapterType.QA_SPARSE_PEFT, new AdapterManifest.MergedArtifact(MERGED_SHA, 100, BASE)));
        catalogue.put(pending, version(2, AdapterType.QA_SPARSE_PEFT, null));
        catalogue.put(otherBase, version(3, AdapterType.SPARSE_PEFT, new AdapterManifest.MergedArtifact(MERGED_SHA, 100,
                "sha256:" + "d".repeat(64))));
        catalogue.put(lora, version(1, AdapterType.LORA, null));
        ServedMerges withoutDynamic = merges(Map.of(), null);
        assertEquals(Form.MERGED_ONLY, withoutDynamic.form(merged));
        assertEquals(Form.AWAITING_MERGE, withoutDynamic.form(pending));
        assertEquals(Form.AWAITING_MERGE, withoutDynamic.form(otherBase), "an artifact for another base is not this base's merged model");
        assertEquals(Form.UNMERGED, withoutDynamic.form(lora));
        assertEquals(Form.UNMERGED, withoutDynamic.form(new AdapterKey("acme", "gone", 1)));
        AdapterMerges dynamic = AdapterMerges.of(MODEL, key -> {
            throw new IllegalStateException("not loaded to decide a form");
        }, key -> Optional.ofNullable(catalogue.get(key)).map(v -> AdapterType.parse(v.type())));
        assertEquals(Form.MERGEABLE, merges(Map.of(), dynamic).form(lora), "lora merges exactly into the dense base");
        assertEquals(Form.MERGED_ONLY, merges(Map.of(), dynamic).form(merged));
    }

    @Test
    void aMergedArtifactIsReadFromItsBlob(@TempDir Path dir) throws Exception {
        DenseParameters base = Checkpoints.open(MODEL).dense();
        Adapter adapter = RandomAdapters.generate(base.config(), AdapterType.LORA, 4, EnumSet.allOf(Projection.class), 0.05, 3, null);
        CompressedParameters written = adapter.kind().mergeDense(adapter, base, BASE);
        Path blob = dir.resolve(MERGED_SHA);
        CompressedCheckpoint.write(written, blob, List.of());
        AdapterKey key = new AdapterKey("acme", "merged", 1);
        catalogue.put(key, version(1, AdapterType.SPARSE_PEFT, new AdapterManifest.MergedArtifact(MERGED_SHA, Files.size(blob), BASE)));
        CompressedParameters read = merges(Map.of(MERGED_SHA, blob), null).merged(key);
        assertArrayEquals(written.blocks().get(0).linear(Projection.Q).dequantize(), read.blocks().get(0).linear(Projection.Q).dequantize());
        AdapterKey none = new AdapterKey("acme", "plain", 1);
        catalogue.put(none, version(1, AdapterType.LORA, null));
        assertThrows(IllegalStateException.class, () -> merges(Map.of(), null).merged(none));
    }
}
