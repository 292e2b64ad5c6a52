package dev.chorus.serving;

import dev.chorus.kafka.tenancy.Caller;
import dev.chorus.kafka.tenancy.TenantKeys;
import dev.chorus.kafka.tenancy.UnauthenticatedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/** The configured API keys ({@link TenantKeys}) at the HTTP edge: a missing or unknown key is 401. */
@ApplicationScoped
public class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);

    private final TenantKeys keys = new TenantKeys();

    public ApiKeys(ChorusConfig config) {
        ChorusConfig.Auth auth = config.auth();
        for (Map.Entry<String, ChorusConfig.Auth.Tenant> tenant : auth.tenants().entrySet()) {
            keys.tenant(tenant.getKey(), tenant.getValue().apiKeySha256(), "chorus.auth.tenants." + tenant.getKey() + ".api-key-sha256");
        }
        keys.operators(auth.adminKeySha256().orElse(List.of()), "chorus.auth.admin-key-sha256");
        if (auth.demoTenant()) {
            keys.demoTenant();
            LOG.warnf("tenant '%s' with the public API key '%s' is enabled; set chorus.auth.demo-tenant=false before exposing this server",
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

    /** The caller behind the request's {@code Authorization: Bearer <key>}; 401 when missing or unknown. */
    public Caller authenticate(RoutingContext ctx) {
        return authenticate(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
    }

    Caller authenticate(String header) {
        try {
            return keys.authenticate(header);
        } catch (UnauthenticatedException e) {
            throw ApiException.unauthorized(e.getMessage());
        }
    }
}
