package dev.chorus.edge.auth;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.jboss.logging.Logger;

/** The configured API keys ({@link AuthConfig}) at a service's HTTP edge. */
@ApplicationScoped
public class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    private static final String CALLER = "chorus.caller";

    private final TenantKeys keys = new TenantKeys();

    public ApiKeys(AuthConfig auth) {
        for (Map.Entry<String, AuthConfig.Tenant> tenant : auth.tenants().entrySet()) {
            keys.tenant(tenant.getKey(), tenant.getValue().apiKeySha256(), "chorus.auth.tenants." + tenant.getKey() + ".api-key-sha256");
        }
        keys.operators(auth.adminKeySha256().orElse(List.of()), "chorus.auth.admin-key-sha256");
        if (auth.demoTenant()) {
            keys.demoTenant();
            LOG.warnf("tenant '%s' with the public API key '%s' is enabled; set chorus.auth.demo-tenant=false before exposing this service",
                    TenantKeys.DEMO_TENANT, TenantKeys.DEMO_KEY);
        }
        if (keys.isEmpty()) {
            LOG.warn("no API keys are configured (chorus.auth.*): every /v1 request will get 401");
        }
    }

    /** The configured tenants, sorted. */
    public List<String> tenants() {
        return keys.tenants();
    }

    /** The caller behind the request's {@code Authorization: Bearer <key>}; throws {@link UnauthenticatedException}. */
    public Caller authenticate(RoutingContext ctx) {
        return authenticate(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
    }

    public Caller authenticate(String authorizationHeader) {
        return keys.authenticate(authorizationHeader);
    }

    /**
     * What decides about an authenticated request before its body is read (its path's tenant, its
     * content type, its tenant's share): calls {@code proceed} now or later on the request's context,
     * or throws to refuse.
     */
    @FunctionalInterface
    public interface Admission {
        void admit(RoutingContext ctx, Caller caller, Runnable proceed);

        /** An admission that only checks, and proceeds at once when the check passes. */
        static Admission checking(BiConsumer<RoutingContext, Caller> check) {
            return (ctx, caller, proceed) -> {
                check.accept(ctx, caller);
                proceed.run();
            };
        }
    }

    /**
     * A route's first handler: authenticates before any body is read, so strangers cannot make the
     * service buffer one, keeps the caller for {@link #caller(RoutingContext)}, then reads the body
     * when {@code body} is given. Vert.x only lets a body handler lead a route, hence it is called
     * from here. {@code rejected} answers requests without a valid key.
     */
    public Handler<RoutingContext> authenticateThen(BodyHandler body, BiConsumer<RoutingContext, UnauthenticatedException> rejected) {
        return ctx -> {
            try {
                ctx.put(CALLER, authenticate(ctx));
            } catch (UnauthenticatedException e) {
                rejected.accept(ctx, e);
                return;
            }
            readBodyThenNext(ctx, body);
        };
    }

    /**
     * As {@link #authenticateThen(BodyHandler, BiConsumer)}, with {@code admission} deciding after
     * authentication and before the body is read; whatever it throws goes to {@code rejected}.
     */
    public Handler<RoutingContext> authenticateThen(Admission admission, BodyHandler body, BiConsumer<RoutingContext, RuntimeException> rejected) {
        return ctx -> {
            try {
                Caller caller = authenticate(ctx);
                ctx.put(CALLER, caller);
                // The request stays paused (as the server hands it over) until the body handler reads it.
                admission.admit(ctx, caller, () -> readBodyThenNext(ctx, body));
            } catch (RuntimeException e) {
                rejected.accept(ctx, e);
            }
        };
    }

    private static void readBodyThenNext(RoutingContext ctx, BodyHandler body) {
        if (body == null) {
            ctx.next();
        } else {
            body.handle(ctx); // continues with the next handler once the body is in
        }
    }

    /** Who sent a request that passed {@link #authenticateThen}. */
    public static Caller caller(RoutingContext ctx) {
        return ctx.get(CALLER);
    }
}
