package dev.chorus.registry;

/** A stored blob's bytes no longer match its sha256: disk damage or tampering. */
public class CorruptBlobException extends RuntimeException {
    public CorruptBlobException(String message) {
        super(message);
    }
}
