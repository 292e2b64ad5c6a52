package dev.chorus.registry;

/** A registry operation that cannot be done; {@link #status()} is its HTTP status at the edge. */
public class RegistryException extends RuntimeException {
    private final int status;
    private final String code;

    public RegistryException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public static RegistryException notFound(String what) {
        return new RegistryException(404, "not_found", what + " not found");
    }

    public static RegistryException conflict(String message) {
        return new RegistryException(409, "conflict", message);
    }

    public static RegistryException unavailable(String message) {
        return new RegistryException(503, "catalogue_unavailable", message);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }
}
