package dev.chorus.edge.http;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.auth.UnauthenticatedException;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.function.Predicate;

/**
 * Per-tenant limits on whole requests, for a service whose every route does work (disk, parsing,
 * validation) a tenant could pile up: its rate limits ({@link RateLimits}, x-ratelimit-* headers) and
 * its share of requests in flight ({@link LimitsConfig.InFlight}), uploads with a smaller share of
 * their own. Beyond either: 429 + Retry-After, before a byte of the body is read. A request is held
 * in its share until its response ends (or the client leaves). Requests without a valid key pass
 * through untouched: the route's own authentication answers them.
 */
@ApplicationScoped
public class TenantLimits {
    private final ApiKeys keys;
    private final RateLimits rates;
    private final ErrorMapper errors;
    private final TenantGate requests;
    private final TenantGate uploads;

    public TenantLimits(ApiKeys keys, RateLimits rates, ErrorMapper errors, LimitsConfig config) {
        this.keys = keys;
        this.rates = rates;
        this.errors = errors;
        this.requests = new TenantGate(config.inFlight().requests(), config.inFlight().queue(), "in flight");
        this.uploads = new TenantGate(config.inFlight().uploads(), config.inFlight().uploadQueue(), "uploading");
    }

    /**
     * A handler to run before a service's routes (give it a low order): limits each authenticated
     * request, with the upload share for those {@code isUpload} picks, then continues to the route.
     */
    public Handler<RoutingContext> handler(Predicate<RoutingContext> isUpload) {
        return ctx -> {
            Caller caller;
            try {
                caller = keys.authenticate(ctx);
            } catch (UnauthenticatedException e) {
                ctx.next();
                return;
            }
            try {
                rates.request(caller, ctx.response());
                boolean upload = isUpload.test(ctx);
                // an upload holds one of its tenant's request places and one of its upload places
                requests.enter(caller, request -> held(ctx, request, () -> {
                    if (upload) {
                        enterOrAnswer(ctx, caller, uploads, permit -> held(ctx, permit, ctx::next));
                    } else {
                        ctx.next();
                    }
                }));
            } catch (RequestRejectedException e) {
                errors.send(ctx.response(), e);
            }
        };
    }

    /** Requests of {@code tenant} in flight or waiting (for tests and metrics). */
    public int load(String tenant) {
        return requests.load(tenant);
    }

    private void enterOrAnswer(RoutingContext ctx, Caller caller, TenantGate gate, TenantGate.Entry entry) {
        try {
            gate.enter(caller, entry);
        } catch (RequestRejectedException e) {
            errors.send(ctx.response(), e); // the request's place is released when this answer ends
        }
    }

    /** Keeps {@code permit} until the exchange ends; a client that left while waiting gives it back at once. */
    private static void held(RoutingContext ctx, TenantGate.Permit permit, Runnable then) {
        if (ctx.response().closed() || ctx.response().ended()) {
            permit.release();
            return;
        }
        ctx.addEndHandler(v -> permit.release());
        then.run();
    }
}
