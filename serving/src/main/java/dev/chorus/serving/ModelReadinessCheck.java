package dev.chorus.serving;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the model is loaded: load balancers keep traffic away while weights load or after a failed load. */
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
                .map(served -> response.up().withData("context_length", served.engine().contextLength()).build())
                .orElseGet(() -> response.down().withData("reason", models.unavailableReason()).build());
    }
}
