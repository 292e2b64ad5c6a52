package dev.chorus.edge.auth;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Bearer API keys, the same settings in every service, stored only as SHA-256 hex digests (e.g.
 * from a Kubernetes secret); env vars map automatically (CHORUS_AUTH_DEMO_TENANT, ...).
 */
@ConfigMapping(prefix = "chorus.auth")
public interface AuthConfig {
    /** Tenants by name, each with the digests of its keys (several, so keys can be rotated). */
    Map<String, Tenant> tenants();

    /** The tenant 'demo' with the public key chorus-demo-key, for the local walk-through; turn it off in deployments. */
    @WithDefault("true")
    boolean demoTenant();

    /** Operators' key digests: they act for every tenant. */
    Optional<List<String>> adminKeySha256();

    interface Tenant {
        List<String> apiKeySha256();
    }
}
