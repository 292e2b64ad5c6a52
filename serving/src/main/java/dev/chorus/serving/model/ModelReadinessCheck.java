package dev.chorus.serving.model;

import dev.chorus.serving.adapters.RegistryAdapters;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the model is loaded (and, when adapters come from the registry, while the adapter
 * catalogue still follows its topic): load balancers keep traffic away otherwise.
 */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {
    private final ModelService models;

    public ModelReadinessCheck(ModelService models) {
        this.models = models;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named("model").withData("model", models.modelName());
        return models.served()
                .map(served -> served.adapters() instanceof RegistryAdapters registry && !registry.healthy()
                        ? response.down().withData("reason", "the adapter catalogue stopped following chorus.adapters").build()
                        : response.up().withData("context_length", served.engine().contextLength()).build())
                .orElseGet(() -> response.down().withData("reason", models.unavailableReason()).build());
    }
}
