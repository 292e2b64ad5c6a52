package dev.chorus.engine.adapter;

/** Where adapter versions come from (a local directory, or the registry's topic and blobs). May block: never called on the engine thread. */
public interface AdapterSource {
    /** Reads and validates one adapter version; throws AdapterFormatException (or AdapterNotFoundException) when it cannot. */
    Adapter load(AdapterKey key);

    /** Whether loading {@code key} reads local storage only (no download): such loads never queue behind downloads. */
    default boolean local(AdapterKey key) {
        return true;
    }
}
