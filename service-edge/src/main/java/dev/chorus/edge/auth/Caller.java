package dev.chorus.edge.auth;

/** Who sent a request: a tenant, or an operator (tenant null). */
public record Caller(String tenant, boolean admin) {
    public static final Caller OPERATOR = new Caller(null, true);

    public static Caller tenant(String name) {
        return new Caller(name, false);
    }

    /** Whether this caller may see and change {@code tenant}'s adapters. */
    public boolean mayAccess(String tenant) {
        return admin || this.tenant.equals(tenant);
    }
}
