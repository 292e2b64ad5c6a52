package dev.chorus.serving;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Bearer API keys to callers. Only SHA-256 digests are configured; a presented key is hashed and
 * compared with every digest in constant time, so neither timing nor an early exit tells an
 * attacker how close a guess was or which tenant exists.
 */
@ApplicationScoped
public class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile("[0-9a-fA-F]{64}");
    /** The README's demo tenant and key; fine on a laptop, never in a deployment. */
    static final String DEMO_TENANT = "demo";
    static final String DEMO_KEY = "chorus-demo-key";

    private record Entry(byte[] digest, Caller caller) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final List<String> tenants = new ArrayList<>();

    public ApiKeys(ChorusConfig config) {
        ChorusConfig.Auth auth = config.auth();
        for (Map.Entry<String, ChorusConfig.Auth.Tenant> tenant : auth.tenants().entrySet()) {
            String name = tenant.getKey();
            if (!TENANT.matcher(name).matches()) {
                throw new IllegalArgumentException("chorus.auth.tenants: '" + name + "' is not a valid tenant name (letters, digits, . _ -)");
            }
            tenants.add(name);
            for (String digest : tenant.getValue().apiKeySha256()) {
                add(digest, Caller.tenant(name), "chorus.auth.tenants." + name + ".api-key-sha256");
            }
        }
        for (String digest : auth.adminKeySha256().orElse(List.of())) {
            add(digest, Caller.OPERATOR, "chorus.auth.admin-key-sha256");
        }
        if (auth.demoTenant()) {
            if (!tenants.contains(DEMO_TENANT)) {
                tenants.add(DEMO_TENANT);
            }
            entries.add(new Entry(sha256(DEMO_KEY), Caller.tenant(DEMO_TENANT)));
            LOG.warnf("tenant '%s' with the public API key '%s' is enabled; set chorus.auth.demo-tenant=false before exposing this server",
                    DEMO_TENANT, DEMO_KEY);
        }
        tenants.sort(null);
        if (entries.isEmpty()) {
            LOG.warn("no API keys are configured (chorus.auth.*): every /v1 request will get 401");
        }
    }

    private void add(String digest, Caller caller, String property) {
        if (!DIGEST.matcher(digest.trim()).matches()) {
            throw new IllegalArgumentException(property + ": expected the SHA-256 of a key as 64 hex digits");
        }
        entries.add(new Entry(HexFormat.of().parseHex(digest.trim().toLowerCase(java.util.Locale.ROOT)), caller));
    }

    /** The configured tenants, sorted. */
    public List<String> tenants() {
        return List.copyOf(tenants);
    }

    /** The caller behind the request's {@code Authorization: Bearer <key>}; 401 when missing or unknown. */
    public Caller authenticate(RoutingContext ctx) {
        return authenticate(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
    }

    Caller authenticate(String header) {
        if (header == null || header.isBlank()) {
            throw ApiException.unauthorized("missing API key: send 'Authorization: Bearer <key>'");
        }
        if (header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()) {
            throw ApiException.unauthorized("the Authorization header must be 'Bearer <key>'");
        }
        byte[] presented = sha256(header.substring(7).trim());
        Caller found = null;
        for (Entry e : entries) { // no early exit: every digest is compared
            if (MessageDigest.isEqual(e.digest, presented)) {
                found = e.caller;
            }
        }
        if (found == null) {
            throw ApiException.unauthorized("invalid API key");
        }
        return found;
    }

    static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
