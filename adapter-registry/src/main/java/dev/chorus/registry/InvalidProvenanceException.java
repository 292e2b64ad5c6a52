package dev.chorus.registry;

/** An upload's provenance header that cannot be recorded (malformed, or naming a parent version that does not exist). */
public class InvalidProvenanceException extends RuntimeException {
    public InvalidProvenanceException(String message) {
        super(message);
    }
}
