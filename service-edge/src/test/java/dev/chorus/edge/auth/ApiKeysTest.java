package dev.chorus.edge.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Key digests to callers, without a running server. */
class ApiKeysTest {
    // echo -n acme-key | sha256sum, and so on
    static final String ACME = "afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163";
    static final String ACME_NEXT = "be7df782af8078ebf81424068223c4993133431d522b67c61168fd9152097eb7";
    static final String OPERATOR = "c9736463f555cdb7d2a78cfd7aa8b8c4f09d906d78f8dab9228eda30a28c2818";

    static ApiKeys keys(Map<String, List<String>> tenants, List<String> admin, boolean demo) {
        return new ApiKeys(new AuthConfig() {
            @Override
            public Map<String, Tenant> tenants() {
                return tenants.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> () -> e.getValue()));
            }

            @Override
            public boolean demoTenant() {
                return demo;
            }

            @Override
            public Optional<List<String>> adminKeySha256() {
                return admin.isEmpty() ? Optional.empty() : Optional.of(admin);
            }
        });
    }

    @Test
    void keysMapToTheirTenantOrToOperators() {
        ApiKeys keys = keys(Map.of("acme", List.of(ACME, ACME_NEXT.toUpperCase())), List.of(OPERATOR), false);
        assertEquals(Caller.tenant("acme"), keys.authenticate("Bearer acme-key"));
        assertEquals(Caller.tenant("acme"), keys.authenticate("bearer acme-key-2"), "the scheme is case-insensitive, digests too");
        assertEquals(Caller.OPERATOR, keys.authenticate("Bearer operator-key"));
        assertEquals(List.of("acme"), keys.tenants());
        for (String bad : new String[] {null, "", "Bearer", "Bearer  ", "Basic acme-key", "Bearer chorus-demo-key", "Bearer " + ACME}) {
            // services answer 401 to it (their error mappers' tests check the status)
            assertThrows(UnauthenticatedException.class, () -> keys.authenticate(bad), String.valueOf(bad));
        }
    }

    @Test
    void theDemoTenantIsOnlyThereWhenEnabled() {
        assertEquals(Caller.tenant("demo"), keys(Map.of(), List.of(), true).authenticate("Bearer chorus-demo-key"));
        assertEquals(List.of("acme", "demo"), keys(Map.of("acme", List.of(ACME)), List.of(), true).tenants());
        assertThrows(UnauthenticatedException.class, () -> keys(Map.of(), List.of(), false).authenticate("Bearer chorus-demo-key"));
    }

    @Test
    void misconfiguredKeysStopTheStartWithTheProperty() {
        IllegalArgumentException notHex = assertThrows(IllegalArgumentException.class,
                () -> keys(Map.of("acme", List.of("acme-key")), List.of(), false));
        assertTrue(notHex.getMessage().contains("chorus.auth.tenants.acme.api-key-sha256"), notHex.getMessage());
        IllegalArgumentException badAdmin = assertThrows(IllegalArgumentException.class,
                () -> keys(Map.of(), List.of(OPERATOR.substring(1)), false));
        assertTrue(badAdmin.getMessage().contains("chorus.auth.admin-key-sha256"), badAdmin.getMessage());
        IllegalArgumentException badTenant = assertThrows(IllegalArgumentException.class,
                () -> keys(Map.of("../etc", List.of(ACME)), List.of(), false));
        assertTrue(badTenant.getMessage().contains("not a valid tenant name"), badTenant.getMessage());
    }
}
