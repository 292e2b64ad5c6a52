package dev.chorus.training;

/** The registry refused or could not be reached; the job that needed it fails with this message. */
public class RegistryException extends RuntimeException {
    public RegistryException(String message) {
        super(message);
    }

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
    }
}
