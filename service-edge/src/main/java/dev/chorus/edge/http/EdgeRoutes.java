package dev.chorus.edge.http;

import dev.chorus.edge.http.RequestRejectedException.Reason;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * What every route of a service shares beyond its own handlers: unknown paths and wrong methods get
 * JSON 404/405 instead of Vert.x's HTML and empty bodies, and {@link #failures} answers what a
 * route's body handler raises (413 over the endpoint's limit) in JSON, staying quiet about clients
 * that hung up mid-request: that is not the server's failure.
 */
@ApplicationScoped
public class EdgeRoutes {
    private static final Logger LOG = Logger.getLogger(EdgeRoutes.class);

    private final ErrorMapper errors;

    public EdgeRoutes(ErrorMapper errors) {
        this.errors = errors;
    }

    void init(@Observes Router router) {
        router.errorHandler(404, ctx -> answer(ctx, new RequestRejectedException(Reason.NO_ROUTE,
                "there is no " + ctx.request().method() + " " + ctx.request().path())));
        router.errorHandler(405, ctx -> answer(ctx, new RequestRejectedException(Reason.METHOD_NOT_ALLOWED,
                ctx.request().path() + " does not take " + ctx.request().method())));
        router.errorHandler(413, ctx -> answer(ctx, new RequestRejectedException(Reason.TOO_LARGE, "the request body is too large")));
    }

    /** A failure handler for a route whose body may hold {@code bodyLimitBytes}. */
    public Handler<RoutingContext> failures(long bodyLimitBytes) {
        return ctx -> answer(ctx, failure(ctx, bodyLimitBytes));
    }

    /**
     * What a failed route's context means for the client: a {@link RequestRejectedException} for a
     * body over the limit, the failure itself otherwise; null when the client has gone.
     */
    public static Throwable failure(RoutingContext ctx, long bodyLimitBytes) {
        if (clientGone(ctx)) {
            LOG.debugf("client left during %s %s: %s", ctx.request().method(), ctx.request().path(), ctx.failure());
            return null;
        }
        if (ctx.statusCode() == 413) {
            return new RequestRejectedException(Reason.TOO_LARGE, "the request body exceeds this endpoint's limit of " + bodyLimitBytes + " bytes");
        }
        return ctx.failure() != null ? ctx.failure() : new IllegalStateException("status " + ctx.statusCode());
    }

    /** Whether the connection closed before an answer could be sent (a dropped upload, a cancelled request). */
    public static boolean clientGone(RoutingContext ctx) {
        return ctx.response().closed() || ctx.failure() instanceof HttpClosedException || ctx.failure() instanceof StreamResetException;
    }

    private void answer(RoutingContext ctx, Throwable failure) {
        if (failure != null) {
            errors.send(ctx.response(), failure);
        }
    }
}
