package dev.chorus.serving;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterNotFoundException;
import dev.chorus.engine.generation.EngineClosedException;
import dev.chorus.engine.generation.EngineOverloadedException;
import dev.chorus.engine.tokenizer.ChatTemplateException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import org.jboss.logging.Logger;

/** The one place where engine exceptions become HTTP statuses, and where error responses are written. */
public final class ApiErrors {
    private static final Logger LOG = Logger.getLogger(ApiErrors.class);

    private ApiErrors() {
    }

    public static ApiException toApi(Throwable error) {
        if (error instanceof ApiException api) {
            return api;
        }
        if (error instanceof AdapterNotFoundException) {
            return ApiException.modelNotFound(((AdapterNotFoundException) error).key().name()); // removed after we resolved it
        }
        if (error instanceof AdapterFormatException) {
            LOG.warnf("adapter unusable: %s", error.getMessage());
            return ApiException.adapterUnusable(error.getMessage());
        }
        if (error instanceof ChatTemplateException) { // the messages break the model's chat template's rules
            return ApiException.invalid(error.getMessage(), "messages");
        }
        if (error instanceof InvalidRequestException) {
            return ApiException.invalid(error.getMessage(), null);
        }
        if (error instanceof EngineOverloadedException) {
            return ApiException.overloaded(error.getMessage());
        }
        if (error instanceof EngineClosedException) {
            return ApiException.unavailable(error.getMessage(), 5);
        }
        if (error instanceof EngineException) {
            LOG.warnf("engine failure: %s", error.getMessage());
            return ApiException.internal(error.getMessage());
        }
        // Anything else is our bug: log it fully, tell the client nothing internal.
        LOG.error("unexpected failure while serving a completion", error);
        return ApiException.internal("internal server error");
    }

    /** Sends the error unless the response is already gone or committed. */
    public static void send(HttpServerResponse response, ApiException error) {
        if (response.ended() || response.closed() || response.headWritten()) {
            return;
        }
        response.setStatusCode(error.status()).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        if (error.status() == 401) {
            response.putHeader("WWW-Authenticate", "Bearer");
        }
        if (error.retryAfterSeconds() > 0) {
            response.putHeader(HttpHeaders.RETRY_AFTER, Integer.toString(error.retryAfterSeconds()));
        }
        response.end(error.body().encode());
    }
}
