package dev.chorus.engine.adapter;

/** Where adapter versions come from (a local directory now, the registry later). May block: never called on the engine thread. */
public interface AdapterSource {
    /** Reads and validates one adapter version; throws AdapterFormatException (or AdapterNotFoundException) when it cannot. */
    Adapter load(AdapterKey key);
}
