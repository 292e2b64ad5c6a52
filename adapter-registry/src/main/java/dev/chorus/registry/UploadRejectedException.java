package dev.chorus.registry;

/** An upload that cannot become an adapter version; the status says why (400, 413 or 422). */
public class UploadRejectedException extends RuntimeException {
    private final int status;

    public UploadRejectedException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
