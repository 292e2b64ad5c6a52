package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** The API's view of manifests (snake_case, as the rest of the HTTP APIs). */
final class ManifestJson {
    private ManifestJson() {
    }

    static JsonObject of(AdapterManifest m) {
        return new JsonObject()
                .put("tenant", m.tenant())
                .put("name", m.name())
                .put("active_version", m.activeVersion())
                .put("versions", versions(m))
                .put("updated_at", m.updatedAt().toString());
    }

    static JsonObject list(List<AdapterManifest> manifests) {
        JsonArray data = new JsonArray();
        manifests.forEach(m -> data.add(of(m)));
        return new JsonObject().put("data", data);
    }

    static JsonArray versions(AdapterManifest m) {
        JsonArray out = new JsonArray();
        m.versions().forEach(v -> out.add(version(v, m.activeVersion())));
        return out;
    }

    static JsonObject version(AdapterManifest.Version v, int active) {
        JsonObject view = new JsonObject()
                .put("version", v.version())
                .put("active", v.version() == active)
                .put("sha256", v.blobSha256())
                .put("size_bytes", v.sizeBytes())
                .put("type", v.type())
                .put("rank", v.rank())
                .put("target_modules", new JsonArray(v.targetModules()))
                .put("base_fingerprint", v.baseFingerprint())
                .put("created_at", v.createdAt().toString())
                .put("download", "/v1/blobs/" + v.blobSha256());
        ProvenanceJson.addTo(view, v.provenance());
        return view;
    }
}
