package dev.chorus.engine.adapter;

/** One adapter version of one tenant: tenant/name@version. */
public record AdapterKey(String tenant, String name, int version) {
    public AdapterKey {
        if (tenant == null || tenant.isBlank() || name == null || name.isBlank() || version < 1) {
            throw new IllegalArgumentException("adapter key needs a tenant, a name and a version >= 1");
        }
    }

    @Override
    public String toString() {
        return tenant + "/" + name + "@" + version;
    }
}
