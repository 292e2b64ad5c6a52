package dev.chorus.registry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The registry's operator alerts, on the management interface (/q/metrics, never the API port).
 * They carry counts only, no tenant or adapter names: which versions are unusable is in the
 * operators' listing (GET /v1/adapters, each version's status) and the WARN log line of the finding,
 * so the monitoring stack learns nothing about tenants.
 */
@ApplicationScoped
public class RegistryMetrics {
    private final MeterRegistry meters;
    private final Registry registry;

    public RegistryMetrics(MeterRegistry meters, Registry registry) {
        this.meters = meters;
        this.registry = registry;
    }

    void onStart(@Observes StartupEvent event) {
        Gauge.builder("chorus.registry.unusable.versions", registry, Registry::unusableVersions)
                .description("Catalogue versions whose blob was found damaged and withdrawn (status unusable): alert when > 0; "
                        + "their owners must upload them again")
                .register(meters);
        FunctionCounter.builder("chorus.registry.damaged.blobs", registry, r -> r.blobs() == null ? 0 : r.blobs().damagedFound())
                .description("Blobs found damaged on disk (hash mismatch) and withdrawn since the registry started")
                .register(meters);
    }
}
