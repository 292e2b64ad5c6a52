package dev.chorus.registry;

/** An upload, or what its archive unpacks to, beyond chorus.registry.max-upload-bytes. */
public class UploadTooLargeException extends RuntimeException {
    public UploadTooLargeException(String message) {
        super(message, null, false, false);
    }
}
