package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * The API's view of manifests (snake_case, as the rest of the HTTP APIs). Each version has a
 * status: "available", or "unusable" when its blob was found damaged (and withdrawn), so owners and
 * operators see it instead of an "active" version nobody can load.
 */
final class ManifestJson {
    private ManifestJson() {
    }

    static JsonObject of(AdapterManifest m, Set<String> damaged) {
        return new JsonObject()
                .put("tenant", m.tenant())
                .put("name", m.name())
                .put("active_version", m.activeVersion())
                .put("versions", versions(m, damaged))
                .put("updated_at", m.updatedAt().toString());
    }

    static JsonObject list(List<AdapterManifest> manifests, Set<String> damaged) {
        JsonArray data = new JsonArray();
        manifests.forEach(m -> data.add(of(m, damaged)));
        return new JsonObject().put("data", data);
    }

    static JsonArray versions(AdapterManifest m, Set<String> damaged) {
        JsonArray out = new JsonArray();
        m.versions().forEach(v -> out.add(version(v, m.activeVersion(), damaged)));
        return out;
    }

    static JsonObject version(AdapterManifest.Version v, int active, Set<String> damaged) {
        boolean unusable = damaged.contains(v.blobSha256());
        JsonObject view = new JsonObject()
                .put("version", v.version())
                .put("active", v.version() == active)
                .put("status", unusable ? "unusable" : "available")
                .put("sha256", v.blobSha256())
                .put("size_bytes", v.sizeBytes())
                .put("type", v.type())
                .put("rank", v.rank())
                .put("target_modules", new JsonArray(v.targetModules()))
                .put("base_fingerprint", v.baseFingerprint())
                .put("created_at", v.createdAt().toString())
                .put("download", "/v1/blobs/" + v.blobSha256());
        if (unusable) {
            view.put("status_reason", "the stored blob was found damaged and withdrawn; upload the adapter again");
        }
        ProvenanceJson.addTo(view, v.provenance());
        view.put("merged", merged(v.merged(), damaged));
        return view;
    }

    /** The version's merged model (null until re-merged): what serving runs the version on. */
    private static JsonObject merged(AdapterManifest.MergedArtifact m, Set<String> damaged) {
        if (m == null) {
            return null;
        }
        return new JsonObject()
                .put("sha256", m.sha256())
                .put("size_bytes", m.sizeBytes())
                .put("base_fingerprint", m.baseFingerprint())
                .put("status", damaged.contains(m.sha256()) ? "unusable" : "available")
                .put("download", "/v1/blobs/" + m.sha256());
    }
}
