package dev.chorus.registry;

/** Every place for validating an upload stayed taken while this one waited. */
public class UploadsBusyException extends RuntimeException {
    public UploadsBusyException(String message) {
        super(message, null, false, false);
    }
}
