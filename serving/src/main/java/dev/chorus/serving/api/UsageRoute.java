package dev.chorus.serving.api;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.auth.UnauthenticatedException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.serving.ops.TenantUsage;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * GET /v1/usage: the caller's own serving figures (requests, tokens, tokens per second over the last
 * minute, time to first token over the latest requests), and who the key belongs to, for the console.
 * A tenant key sees only its tenant; an operator key sees every tenant that has figures.
 */
@ApplicationScoped
public class UsageRoute {
    private final TenantUsage usage;
    private final ApiKeys keys;
    private final ErrorMapper errors;

    public UsageRoute(TenantUsage usage, ApiKeys keys, ErrorMapper errors) {
        this.usage = usage;
        this.keys = keys;
        this.errors = errors;
    }

    void init(@Observes Router router) {
        router.get("/v1/usage").handler(this::usage);
    }

    private void usage(RoutingContext ctx) {
        Caller caller;
        try {
            caller = keys.authenticate(ctx);
        } catch (UnauthenticatedException e) {
            errors.send(ctx.response(), e);
            return;
        }
        JsonObject tenants = new JsonObject();
        if (caller.admin()) {
            usage.all().forEach((tenant, s) -> tenants.put(tenant, json(s)));
        } else {
            tenants.put(caller.tenant(), usage.of(caller.tenant()).map(UsageRoute::json).orElseGet(UsageRoute::empty));
        }
        JsonObject body = new JsonObject().put("object", "usage").put("tenant", caller.tenant()).put("operator", caller.admin())
                .put("tenants", tenants);
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                .end(body.encode());
    }

    private static JsonObject empty() {
        return json(new TenantUsage.Snapshot(0, 0, 0, 0, 0, 60, null, null, 0));
    }

    private static JsonObject json(TenantUsage.Snapshot s) {
        return new JsonObject()
                .put("requests", new JsonObject().put("completed", s.completedRequests()).put("cancelled", s.cancelledRequests()))
                .put("tokens", new JsonObject().put("prompt", s.promptTokens()).put("completion", s.completionTokens()))
                .put("tokens_per_second", s.tokensPerSecond()).put("window_seconds", s.windowSeconds())
                .put("time_to_first_token_ms", new JsonObject().put("p50", s.ttftP50Millis()).put("p90", s.ttftP90Millis())
                        .put("samples", s.ttftSamples()));
    }
}
