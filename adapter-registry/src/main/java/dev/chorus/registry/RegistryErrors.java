package dev.chorus.registry;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.jboss.logging.Logger;

/** The one place where registry exceptions become HTTP statuses with a JSON error body. */
final class RegistryErrors {
    private static final Logger LOG = Logger.getLogger(RegistryErrors.class);

    private RegistryErrors() {
    }

    static void send(RoutingContext ctx, Throwable error) {
        if (error instanceof UploadRejectedException e) {
            send(ctx, e.status(), e.status() == 413 ? "too_large" : e.status() == 400 ? "invalid_request" : "invalid_adapter", e.getMessage());
        } else if (error instanceof RegistryException e) {
            send(ctx, e.status(), e.code(), e.getMessage());
        } else if (error instanceof BlobNotFoundException e) {
            send(ctx, 404, "not_found", e.getMessage());
        } else if (error instanceof CorruptBlobException e) {
            LOG.error(e.getMessage());
            send(ctx, 500, "corrupt_blob", "the stored blob is damaged and was withdrawn; re-upload the adapter");
        } else {
            LOG.error("unexpected registry failure", error);
            send(ctx, 500, "internal_error", "internal server error");
        }
    }

    static void send(RoutingContext ctx, int status, String code, String message) {
        if (ctx.response().ended() || ctx.response().headWritten()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(new JsonObject().put("error", new JsonObject().put("message", message).put("code", code)).encode());
    }
}
