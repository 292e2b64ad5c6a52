package dev.chorus.serving.api;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.EdgeRoutes;
import dev.chorus.edge.http.RateLimits;
import dev.chorus.edge.http.TenantGate;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.serving.ChorusConfig;
import dev.chorus.serving.feedback.FeedbackIntake;
import dev.chorus.serving.feedback.RecentCompletion;
import dev.chorus.serving.model.ModelService;
import dev.chorus.serving.model.ServedModel;
import dev.chorus.serving.ops.FeedbackMetrics;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.Optional;

/**
 * POST /v1/feedback: a tenant's rating of a completion it received, named by id or sent in full,
 * produced to the feedback topic. 202 with the event id only after the broker acknowledged the
 * write; 503 with Retry-After when it did not in time (the client retries with the same event_id,
 * which training collapses).
 */
@ApplicationScoped
public class FeedbackRoute {
    private final FeedbackIntake intake;
    private final ModelService models;
    private final ApiKeys keys;
    private final ErrorMapper errors;
    private final FeedbackMetrics metrics;
    private final int maxRequestBytes;
    private final TenantGate gate;
    private final RateLimits limits;

    public FeedbackRoute(FeedbackIntake intake, ModelService models, ApiKeys keys, ErrorMapper errors, FeedbackMetrics metrics,
            ChorusConfig config, TenantGate gate, RateLimits limits) {
        this.intake = intake;
        this.models = models;
        this.keys = keys;
        this.errors = errors;
        this.metrics = metrics;
        this.maxRequestBytes = config.api().maxRequestBytes();
        this.gate = gate;
        this.limits = limits;
    }

    void init(@Observes Router router) {
        router.post("/v1/feedback")
                .handler(keys.authenticateThen((ctx, caller, proceed) -> {
                    limits.request(caller, ctx.response());
                    gate.admission().admit(ctx, caller, proceed);
                }, BodyHandler.create(false).setBodyLimit(maxRequestBytes),
                        (ctx, e) -> reject(ctx, errors.toApi(e))))
                .handler(this::accept)
                .failureHandler(ctx -> {
                    Throwable failure = EdgeRoutes.failure(ctx, maxRequestBytes);
                    if (failure != null) {
                        reject(ctx, errors.toApi(failure));
                    }
                });
    }

    private void accept(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        FeedbackRequest request;
        try {
            if (caller.admin()) {
                throw ApiException.openAi(403, "invalid_request_error", "feedback comes from the tenant that received the completion: use its key",
                        null, "permission_denied");
            }
            request = FeedbackRequestParser.parse(ctx.body().buffer());
        } catch (ApiException e) {
            reject(ctx, e);
            return;
        }
        Context context = Vertx.currentContext();
        // Off the event loop: resolving an adapter may read the adapters directory.
        ctx.vertx().executeBlocking(() -> event(caller.tenant(), caller, request), false)
                .onSuccess(event -> intake.submit(event).subscribe().with(
                        ok -> context.runOnContext(ignored -> accepted(ctx, event)),
                        failure -> context.runOnContext(ignored -> reject(ctx, errors.toApi(failure)))))
                .onFailure(error -> reject(ctx, errors.toApi(error)));
    }

    private FeedbackEvent event(String tenant, Caller caller, FeedbackRequest r) {
        if (r.completionId() != null) {
            RecentCompletion c = intake.completion(tenant, r.completionId());
            return new FeedbackEvent(FeedbackEvent.SCHEMA_VERSION, r.eventId(), tenant, c.adapter(), c.adapterVersion(), c.id(), c.prompt(),
                    c.messages(), c.completion(), r.rating(), r.correction(), r.metadata(), Instant.now());
        }
        ServedModel served = models.served().orElseThrow(
                () -> OpenAiErrors.unavailable(models.unavailableReason(), models.loadFailed() ? 60 : 5));
        AdapterKey adapter = served.resolve(caller, Optional.of(r.model())).adapter(); // another tenant's adapter: 404
        return new FeedbackEvent(FeedbackEvent.SCHEMA_VERSION, r.eventId(), tenant, adapter == null ? null : adapter.name(),
                adapter == null ? null : adapter.version(), null, r.prompt(), r.messages(), r.completion(), r.rating(), r.correction(),
                r.metadata(), Instant.now());
    }

    private void accepted(RoutingContext ctx, FeedbackEvent event) {
        metrics.accepted();
        if (!ctx.response().ended() && !ctx.response().closed()) {
            ctx.response().setStatusCode(202).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(new JsonObject().put("event_id", event.eventId()).encode());
        }
    }

    private void reject(RoutingContext ctx, ApiException error) {
        metrics.rejected(error);
        ErrorMapper.send(ctx.response(), error);
    }
}
