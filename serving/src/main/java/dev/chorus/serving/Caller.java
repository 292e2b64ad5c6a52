package dev.chorus.serving;

/** Who sent a request: a tenant, or an operator (tenant null). */
public record Caller(String tenant, boolean admin) {
    static Caller tenant(String name) {
        return new Caller(name, false);
    }

    static final Caller OPERATOR = new Caller(null, true);
}
