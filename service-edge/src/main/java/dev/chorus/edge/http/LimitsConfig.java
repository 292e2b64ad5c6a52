package dev.chorus.edge.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Map;
import java.util.Optional;

/**
 * Per-tenant rate limits (chorus.limits.*): requests per second and tokens (prompt + max_tokens) per
 * minute. 0 means no limit; the defaults apply to every tenant without its own entry. Off by
 * default (the local demo); set them in deployments (see README, "Limits"). And each tenant's share
 * of requests in flight (chorus.limits.in-flight.*), on by default, where a service gates whole requests.
 */
@ConfigMapping(prefix = "chorus.limits")
public interface LimitsConfig {
    @WithDefault("0")
    double requestsPerSecond();

    @WithDefault("0")
    long tokensPerMinute();

    /** Overrides by tenant name. */
    Map<String, Tenant> tenants();

    /** Each tenant's requests in flight where a service gates whole requests ({@link TenantLimits}: training). */
    InFlight inFlight();

    interface InFlight {
        /** A tenant's requests served at once; more wait in its queue. */
        @WithDefault("4")
        int requests();

        @WithDefault("16")
        int queue();

        /** A tenant's uploads (bodies that grow with the input) at once, within its requests. */
        @WithDefault("1")
        int uploads();

        @WithDefault("4")
        int uploadQueue();
    }

    interface Tenant {
        Optional<Double> requestsPerSecond();

        Optional<Long> tokensPerMinute();
    }
}
