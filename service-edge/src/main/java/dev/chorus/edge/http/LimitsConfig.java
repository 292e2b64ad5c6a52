package dev.chorus.edge.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Map;
import java.util.Optional;

/**
 * Per-tenant rate limits (chorus.limits.*): requests per second and tokens (prompt + max_tokens) per
 * minute. 0 means no limit; the defaults apply to every tenant without its own entry. Off by
 * default (the local demo); set them in deployments (see README, "Limits").
 */
@ConfigMapping(prefix = "chorus.limits")
public interface LimitsConfig {
    @WithDefault("0")
    double requestsPerSecond();

    @WithDefault("0")
    long tokensPerMinute();

    /** Overrides by tenant name. */
    Map<String, Tenant> tenants();

    interface Tenant {
        Optional<Double> requestsPerSecond();

        Optional<Long> tokensPerMinute();
    }
}
