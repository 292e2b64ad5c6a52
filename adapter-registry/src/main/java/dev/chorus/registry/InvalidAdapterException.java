package dev.chorus.registry;

/** An upload that is not a usable adapter for this base: a broken archive, missing or malformed files, wrong shapes. */
public class InvalidAdapterException extends RuntimeException {
    public InvalidAdapterException(String message) {
        super(message, null, false, false);
    }
}
