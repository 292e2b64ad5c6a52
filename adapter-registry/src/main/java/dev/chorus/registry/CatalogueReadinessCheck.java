package dev.chorus.registry;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready while the catalogue follows chorus.adapters and the broker takes writes: without the first,
 * reads would be stale; without the second, every upload, promote and delete would answer 503.
 */
@Readiness
@ApplicationScoped
public class CatalogueReadinessCheck implements HealthCheck {
    private final Registry registry;

    public CatalogueReadinessCheck(Registry registry) {
        this.registry = registry;
    }

    @Override
    public HealthCheckResponse call() {
        Catalogue catalogue = registry.catalogue();
        boolean following = catalogue != null && catalogue.healthy();
        boolean writable = following && catalogue.writable();
        return HealthCheckResponse.named("adapter-catalogue").status(following && writable)
                .withData("following", following).withData("writable", writable).build();
    }
}
