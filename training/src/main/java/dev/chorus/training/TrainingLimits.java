package dev.chorus.training;

import dev.chorus.edge.http.TenantLimits;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Every /v1 route of training under the edge's per-tenant limits (rate limits, requests in flight),
 * file uploads with their own smaller share: each holds a multipart body on disk and reads it whole
 * for its line-by-line check. Installed ahead of the routes, so the routes themselves stay unaware.
 */
@ApplicationScoped
public class TrainingLimits {
    /** Before every route's own handlers (routes default to the order they were added in, from 0). */
    static final int ORDER = -100;

    private final TenantLimits limits;

    public TrainingLimits(TenantLimits limits) {
        this.limits = limits;
    }

    void init(@Observes Router router) {
        router.route("/v1/*").order(ORDER)
                .handler(limits.handler(ctx -> ctx.request().method() == HttpMethod.POST && ctx.request().path().equals("/v1/files")));
    }
}
