package dev.chorus.registry;

/** A change the active version forbids (deleting it while other versions remain). */
public class ActiveVersionException extends RuntimeException {
    public ActiveVersionException(String message) {
        super(message, null, false, false);
    }
}
