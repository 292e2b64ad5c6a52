package dev.chorus.edge.auth;

import dev.chorus.kafka.Names;
import dev.chorus.kafka.Sha256;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Bearer API keys to callers, the same in every service. Only SHA-256 digests are configured; a
 * presented key is hashed and compared with every digest in constant time, so neither timing nor
 * an early exit tells an attacker how close a guess was or which tenant exists.
 */
public final class TenantKeys {
    private static final Pattern DIGEST = Pattern.compile("[0-9a-fA-F]{64}");
    /** The README's demo tenant and key; fine on a laptop, never in a deployment. */
    public static final String DEMO_TENANT = "demo";
    public static final String DEMO_KEY = "chorus-demo-key";

    private record Entry(byte[] digest, Caller caller) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final List<String> tenants = new ArrayList<>();

    /** Adds a tenant's key digests; {@code property} names the setting in error messages. */
    public TenantKeys tenant(String name, List<String> digests, String property) {
        if (!Names.valid(name)) {
            throw new IllegalArgumentException(property + ": '" + name + "' is not a valid tenant name (letters, digits, . _ -)");
        }
        if (!tenants.contains(name)) {
            tenants.add(name);
            tenants.sort(null);
        }
        for (String digest : digests) {
            entries.add(new Entry(parse(digest, property), Caller.tenant(name)));
        }
        return this;
    }

    public TenantKeys operators(List<String> digests, String property) {
        for (String digest : digests) {
            entries.add(new Entry(parse(digest, property), Caller.OPERATOR));
        }
        return this;
    }

    /** The public demo tenant (its key is in the README). */
    public TenantKeys demoTenant() {
        return tenant(DEMO_TENANT, List.of(HexFormat.of().formatHex(Sha256.of(DEMO_KEY))), "demo tenant");
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** The configured tenants, sorted. */
    public List<String> tenants() {
        return List.copyOf(tenants);
    }

    /** The caller behind an {@code Authorization} header value ({@code Bearer <key>}). */
    public Caller authenticate(String header) {
        if (header == null || header.isBlank()) {
            throw new UnauthenticatedException("missing API key: send 'Authorization: Bearer <key>'");
        }
        if (header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()) {
            throw new UnauthenticatedException("the Authorization header must be 'Bearer <key>'");
        }
        byte[] presented = Sha256.of(header.substring(7).trim());
        Caller found = null;
        for (Entry e : entries) { // no early exit: every digest is compared
            if (MessageDigest.isEqual(e.digest, presented)) {
                found = e.caller;
            }
        }
        if (found == null) {
            throw new UnauthenticatedException("invalid API key");
        }
        return found;
    }

    private static byte[] parse(String digest, String property) {
        String d = digest.trim();
        if (!DIGEST.matcher(d).matches()) {
            throw new IllegalArgumentException(property + ": expected the SHA-256 of a key as 64 hex digits");
        }
        return HexFormat.of().parseHex(d.toLowerCase(Locale.ROOT));
    }
}
