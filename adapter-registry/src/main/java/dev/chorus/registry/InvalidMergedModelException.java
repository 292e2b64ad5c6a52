package dev.chorus.registry;

/** A merged artifact that is not a compressed checkpoint of this registry's base: a broken archive, missing or malformed files, another shape or base. */
public class InvalidMergedModelException extends RuntimeException {
    public InvalidMergedModelException(String message) {
        super(message, null, false, false);
    }
}
