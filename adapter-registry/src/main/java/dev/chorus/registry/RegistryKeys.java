package dev.chorus.registry;

import dev.chorus.kafka.tenancy.Caller;
import dev.chorus.kafka.tenancy.TenantKeys;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/** The configured bearer keys; the same scheme and settings as serving. */
@ApplicationScoped
public class RegistryKeys {
    private static final Logger LOG = Logger.getLogger(RegistryKeys.class);

    private final TenantKeys keys = new TenantKeys();

    public RegistryKeys(RegistryConfig config) {
        for (Map.Entry<String, RegistryConfig.Auth.Tenant> t : config.auth().tenants().entrySet()) {
            keys.tenant(t.getKey(), t.getValue().apiKeySha256(), "chorus.auth.tenants." + t.getKey() + ".api-key-sha256");
        }
        keys.operators(config.auth().adminKeySha256().orElse(List.of()), "chorus.auth.admin-key-sha256");
        if (config.auth().demoTenant()) {
            keys.demoTenant();
            LOG.warnf("tenant '%s' with the public API key is enabled; set chorus.auth.demo-tenant=false before exposing this registry",
                    TenantKeys.DEMO_TENANT);
        }
    }

    /** Throws UnauthenticatedException (401 at the edge). */
    public Caller authenticate(RoutingContext ctx) {
        return keys.authenticate(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
    }
}
