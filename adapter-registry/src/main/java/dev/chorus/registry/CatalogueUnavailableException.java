package dev.chorus.registry;

/** Kafka did not take a manifest, or it was not read back in time: the change may or may not have happened. */
public class CatalogueUnavailableException extends RuntimeException {
    public CatalogueUnavailableException(String message) {
        super(message, null, false, false);
    }
}
