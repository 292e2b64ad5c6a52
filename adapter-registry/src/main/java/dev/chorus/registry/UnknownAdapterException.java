package dev.chorus.registry;

/** No live adapter, or no such version of it, in the catalogue. */
public class UnknownAdapterException extends RuntimeException {
    public UnknownAdapterException(String what) {
        super(what + " not found", null, false, false);
    }
}
