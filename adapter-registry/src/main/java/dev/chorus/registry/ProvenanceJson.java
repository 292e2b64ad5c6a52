package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;

/**
 * A version's provenance in the API's snake_case: read from the {@value #HEADER} header of an
 * upload (the training service records what produced a version), written into version views.
 * <pre>{"parent_version": 1, "job_id": "ftjob-…", "metrics": {"held_out_loss": 2.1}, "gate": {"passed": true, "reason": "…"}}</pre>
 */
final class ProvenanceJson {
    static final String HEADER = "Chorus-Provenance";
    private static final int MAX_LENGTH = 4096;

    private ProvenanceJson() {
    }

    static AdapterManifest.Provenance parse(String header) {
        if (header.length() > MAX_LENGTH) {
            throw new InvalidProvenanceException(HEADER + " is longer than " + MAX_LENGTH + " characters");
        }
        try {
            JsonObject o = new JsonObject(header);
            Map<String, Double> metrics = new HashMap<>();
            JsonObject m = o.getJsonObject("metrics", new JsonObject());
            for (String name : m.fieldNames()) {
                if (!(m.getValue(name) instanceof Number n)) {
                    throw new InvalidProvenanceException(HEADER + ": metric " + name + " is not a number");
                }
                metrics.put(name, n.doubleValue());
            }
            JsonObject gate = o.getJsonObject("gate");
            AdapterManifest.GateVerdict verdict = gate == null ? null
                    : new AdapterManifest.GateVerdict(Boolean.TRUE.equals(gate.getBoolean("passed")), gate.getString("reason"));
            return new AdapterManifest.Provenance(o.getInteger("parent_version"), o.getString("job_id"), metrics, verdict);
        } catch (DecodeException | ClassCastException e) {
            throw new InvalidProvenanceException(HEADER + " must be a JSON object {parent_version, job_id, metrics, gate}");
        } catch (IllegalArgumentException e) {
            throw new InvalidProvenanceException(HEADER + ": " + e.getMessage());
        }
    }

    /** The version view's fields: "source" (upload or job) and, for a job's version, what produced it. */
    static void addTo(JsonObject view, AdapterManifest.Provenance p) {
        view.put("source", p == null || p.jobId() == null ? "upload" : "job");
        if (p == null) {
            return;
        }
        view.put("parent_version", p.parentVersion()).put("job_id", p.jobId()).put("metrics", new JsonObject(new HashMap<>(p.metrics())));
        if (p.gate() != null) {
            view.put("gate", new JsonObject().put("passed", p.gate().passed()).put("reason", p.gate().reason()));
        }
    }
}
