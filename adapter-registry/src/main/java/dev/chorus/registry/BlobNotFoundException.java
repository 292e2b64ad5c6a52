package dev.chorus.registry;

/** No blob with this sha256 is stored. */
public class BlobNotFoundException extends RuntimeException {
    public BlobNotFoundException(String sha) {
        super("blob " + sha + " not found", null, false, false);
    }
}
