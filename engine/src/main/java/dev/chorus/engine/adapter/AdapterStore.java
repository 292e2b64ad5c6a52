package dev.chorus.engine.adapter;

/**
 * Where a served model's adapters live: the catalogue requests are resolved against and the source
 * the cache loads versions from, one thing seen from two sides (a local directory, or the registry's
 * topic and blobs). Stores that notice new versions tell a subscriber, so the engine can prefetch
 * the version new requests will get and retire the one they no longer get.
 */
public interface AdapterStore extends AdapterCatalog, AdapterSource, AutoCloseable {

    /** Version changes, reported on the store's own thread: implementations only enqueue. */
    interface Changes {
        /** {@code active} became the version new requests get; {@code previous} was (null for a new adapter). */
        void activated(AdapterKey previous, AdapterKey active);

        /** {@code version} was deleted. */
        void removed(AdapterKey version);
    }

    /** Starts reporting changes from now on; a store that cannot notice them (a directory) never calls it. */
    default void subscribe(Changes changes) {
    }

    /** Stops following the catalogue; a store holding nothing open has nothing to do. */
    @Override
    default void close() {
    }
}
