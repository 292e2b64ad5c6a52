package dev.chorus.training;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the datasets are rebuilt from the examples topic: before that, counts would be short. */
@Readiness
@ApplicationScoped
public class DatasetsReadinessCheck implements HealthCheck {
    private final Datasets datasets;

    public DatasetsReadinessCheck(Datasets datasets) {
        this.datasets = datasets;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("training-datasets").status(datasets.ready()).build();
    }
}
