package dev.chorus.training;

import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.Sha256;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Optional;

/**
 * The adapter registry as a job needs it, over its HTTP API with an operator key (a service never
 * links another service's code): an adapter's active version, that version's blob (the zip of
 * adapter_config.json and adapter_model.safetensors, checked against its sha256), uploading a new
 * version and promoting it, attaching a version's merged model.
 */
public class RegistryClient {
    /** An adapter's active version and the blob that holds it. */
    public record ActiveVersion(int version, String sha256) {
    }

    /** Where the registry reads a version's provenance from (operator keys only). */
    static final String PROVENANCE_HEADER = "Chorus-Provenance";

    private final HttpClient http;
    private final URI base;
    private final String key;
    private final Duration timeout;

    public RegistryClient(URI base, String operatorKey, Duration timeout) {
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
        this.base = URI.create(base.toString().replaceAll("/+$", "") + "/");
        this.key = operatorKey;
        this.timeout = timeout;
    }

    /** The adapter's active version; empty if the registry has no such adapter (or none of its versions is active). */
    public Optional<ActiveVersion> active(String tenant, String adapter) {
        return find(tenant, adapter, null);
    }

    /** Version {@code version} of the adapter; empty if the registry has no such adapter or version. */
    public Optional<ActiveVersion> version(String tenant, String adapter, int version) {
        return find(tenant, adapter, version);
    }

    /** {@code wanted} (null: the active version) of the adapter, as the registry's manifest lists it. */
    private Optional<ActiveVersion> find(String tenant, String adapter, Integer wanted) {
        HttpResponse<byte[]> r = send(request(adapterPath(tenant, adapter)).GET());
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        JsonObject manifest = json(expect(r, 200, "read adapter " + tenant + "/" + adapter));
        Integer version = wanted != null ? wanted : manifest.getInteger("active_version");
        if (version == null || version < 1 || manifest.getJsonArray("versions") == null) {
            return Optional.empty();
        }
        for (Object v : manifest.getJsonArray("versions")) {
            JsonObject listed = (JsonObject) v;
            if (version.equals(listed.getInteger("version"))) {
                return Optional.of(new ActiveVersion(version, listed.getString("sha256")));
            }
        }
        if (wanted != null) {
            return Optional.empty();
        }
        throw new RegistryException("the registry's manifest of " + tenant + "/" + adapter + " names active version " + version
                + " but does not list it");
    }

    /** The blob's bytes, verified against {@code sha256}. */
    public byte[] blob(String sha256) {
        byte[] bytes = expect(send(request("v1/blobs/" + sha256).GET()), 200, "download blob " + sha256);
        String actual = Sha256.hex(bytes);
        if (!actual.equalsIgnoreCase(sha256)) {
            throw new RegistryException("blob " + sha256 + " arrived as " + actual);
        }
        return bytes;
    }

    /**
     * Uploads {@code zip} as the adapter's next version with what produced it; not active yet
     * (unless it is the adapter's first); returns its version number.
     */
    public int upload(String tenant, String adapter, byte[] zip, AdapterManifest.Provenance provenance) {
        HttpRequest.Builder put = request(adapterPath(tenant, adapter)).header("Content-Type", "application/zip")
                .header(PROVENANCE_HEADER, provenanceJson(provenance).encode())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(zip));
        JsonObject manifest = json(expect(send(put), 201, "upload a version of " + tenant + "/" + adapter));
        int newest = 0;
        for (Object v : manifest.getJsonArray("versions")) {
            newest = Math.max(newest, ((JsonObject) v).getInteger("version"));
        }
        if (newest < 1) {
            throw new RegistryException("the registry answered an upload of " + tenant + "/" + adapter + " without versions");
        }
        return newest;
    }

    /** Makes {@code version} the adapter's active one. */
    public void promote(String tenant, String adapter, int version) {
        HttpRequest.Builder post = request(adapterPath(tenant, adapter) + "/promote").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("version", version).encode()));
        expect(send(post), 200, "promote " + tenant + "/" + adapter + "@" + version);
    }

    /**
     * Attaches {@code zip} (a merged compressed checkpoint's directory) to the version as its merged
     * model, made for the base with engine fingerprint {@code baseFingerprint}.
     */
    public void attachMerged(String tenant, String adapter, int version, byte[] zip, String baseFingerprint) {
        HttpRequest.Builder put = request(adapterPath(tenant, adapter) + "/versions/" + version + "/merged?base_fingerprint="
                + URLEncoder.encode(baseFingerprint, StandardCharsets.UTF_8))
                .header("Content-Type", "application/zip").PUT(HttpRequest.BodyPublishers.ofByteArray(zip));
        expect(send(put), 200, "attach the merged model of " + tenant + "/" + adapter + "@" + version);
    }

    /** The registry's snake_case form of a version's provenance. */
    static JsonObject provenanceJson(AdapterManifest.Provenance p) {
        JsonObject json = new JsonObject().put("parent_version", p.parentVersion()).put("job_id", p.jobId())
                .put("metrics", new JsonObject(new HashMap<>(p.metrics())));
        if (p.gate() != null) {
            json.put("gate", new JsonObject().put("passed", p.gate().passed()).put("reason", p.gate().reason()));
        }
        return json;
    }

    private static String adapterPath(String tenant, String adapter) {
        return "v1/tenants/" + tenant + "/adapters/" + adapter; // both are safe names: nothing to escape
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(timeout).header("Authorization", "Bearer " + key);
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new RegistryException("the registry at " + base + " cannot be reached: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("interrupted while talking to the registry", e);
        }
    }

    private static byte[] expect(HttpResponse<byte[]> r, int status, String what) {
        if (r.statusCode() != status) {
            String body = new String(r.body(), StandardCharsets.UTF_8);
            throw new RegistryException("cannot " + what + ": the registry answered " + r.statusCode() + " "
                    + body.substring(0, Math.min(body.length(), 300)));
        }
        return r.body();
    }

    private static JsonObject json(byte[] body) {
        try {
            return new JsonObject(new String(body, StandardCharsets.UTF_8));
        } catch (DecodeException | ClassCastException e) {
            throw new RegistryException("the registry answered something that is not a JSON object", e);
        }
    }
}
