package dev.chorus.training;

import dev.chorus.edge.auth.UnauthenticatedException;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** The one place where training exceptions become HTTP statuses with a JSON error body. */
@ApplicationScoped
public class TrainingErrors {
    private static final Logger LOG = Logger.getLogger(TrainingErrors.class);

    @Produces
    @Singleton
    ErrorMapper errors() {
        return ErrorMapper.builder()
                .on(UnauthenticatedException.class, e -> ApiException.of(401, "invalid_api_key", e.getMessage()))
                .on(InvalidTrainingFileException.class, e -> ApiException.openAi(400, "invalid_request_error", e.getMessage(), "file",
                        "invalid_file"))
                .on(JobEndedException.class, e -> ApiException.openAi(409, "invalid_request_error", e.getMessage(), "fine_tuning_job_id",
                        "job_not_cancellable"))
                .on(DatasetsUnavailableException.class, e -> {
                    LOG.warn(e.getMessage());
                    return ApiException.of(503, "training_data_unavailable", e.getMessage()).retryAfter(2);
                })
                .on(JobsUnavailableException.class, e -> {
                    LOG.warn(e.getMessage());
                    return ApiException.of(503, "jobs_unavailable", e.getMessage()).retryAfter(2);
                })
                .otherwise(e -> {
                    LOG.error("unexpected training failure", e);
                    return ApiException.of(500, "internal_error", "internal server error");
                });
    }
}
