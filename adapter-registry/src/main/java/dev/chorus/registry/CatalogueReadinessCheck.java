package dev.chorus.registry;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready while the catalogue follows chorus.adapters: without it, reads would be stale and writes could not be read back. */
@Readiness
@ApplicationScoped
public class CatalogueReadinessCheck implements HealthCheck {
    private final Registry registry;

    public CatalogueReadinessCheck(Registry registry) {
        this.registry = registry;
    }

    @Override
    public HealthCheckResponse call() {
        boolean up = registry.catalogue() != null && registry.catalogue().healthy();
        return HealthCheckResponse.named("adapter-catalogue").status(up).build();
    }
}
