package dev.chorus.registry;

import dev.chorus.edge.auth.UnauthenticatedException;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** The one place where registry exceptions become HTTP statuses with a JSON error body. */
@ApplicationScoped
public class RegistryErrors {
    private static final Logger LOG = Logger.getLogger(RegistryErrors.class);
    private static final int CATALOGUE_RETRY_AFTER_SECONDS = 5;

    @Produces
    @Singleton
    ErrorMapper errors() {
        return ErrorMapper.builder()
                .on(UnauthenticatedException.class, e -> ApiException.of(401, "invalid_api_key", e.getMessage()))
                .on(UploadTooLargeException.class, e -> ApiException.of(413, "too_large", e.getMessage()))
                .on(InvalidProvenanceException.class, e -> ApiException.of(400, "invalid_request", e.getMessage()))
                .on(InvalidAdapterException.class, e -> ApiException.of(422, "invalid_adapter", e.getMessage()))
                .on(InvalidMergedModelException.class, e -> ApiException.of(422, "invalid_merged_model", e.getMessage()))
                .on(UploadsBusyException.class, e -> ApiException.of(429, "uploads_busy", e.getMessage()).retryAfter(5))
                .on(UnknownAdapterException.class, e -> ApiException.of(404, "not_found", e.getMessage()))
                .on(BlobNotFoundException.class, e -> ApiException.of(404, "not_found", e.getMessage()))
                .on(ActiveVersionException.class, e -> ApiException.of(409, "conflict", e.getMessage()))
                .on(CatalogueUnavailableException.class, e -> {
                    LOG.warn(e.getMessage());
                    return ApiException.of(503, "catalogue_unavailable", e.getMessage()).retryAfter(CATALOGUE_RETRY_AFTER_SECONDS);
                })
                .on(CorruptBlobException.class, e -> {
                    LOG.error(e.getMessage());
                    return ApiException.of(500, "corrupt_blob", "the stored blob is damaged and was withdrawn; re-upload the adapter");
                })
                .otherwise(e -> {
                    LOG.error("unexpected registry failure", e);
                    return ApiException.of(500, "internal_error", "internal server error");
                });
    }
}
