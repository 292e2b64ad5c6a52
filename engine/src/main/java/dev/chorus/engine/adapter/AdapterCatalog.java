package dev.chorus.engine.adapter;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Which adapter versions each tenant has and which one new requests get (the active version). A
 * local directory answers now, the registry's stream later. Tenants never see each other's entries.
 */
public interface AdapterCatalog {

    /** One adapter of a tenant: its versions in ascending order and the active one among them. */
    record Listing(String name, List<Integer> versions, int active) {
        public Listing {
            versions = List.copyOf(versions);
        }
    }

    /** The tenant's adapters by name; empty for an unknown tenant. */
    List<Listing> adapters(String tenant);

    /**
     * The version a request for {@code tenant}'s adapter {@code name} runs on: the given version, or
     * the active one when none is given. Empty when the tenant has no such adapter or version.
     */
    Optional<AdapterKey> resolve(String tenant, String name, OptionalInt version);
}
