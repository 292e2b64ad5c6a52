package dev.chorus.training;

/** The datasets cannot be read or changed right now (start-up catch-up, or the broker is away); clients retry. */
public class DatasetsUnavailableException extends RuntimeException {
    public DatasetsUnavailableException(String message) {
        super(message);
    }

    public DatasetsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
