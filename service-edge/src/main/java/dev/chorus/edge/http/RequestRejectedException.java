package dev.chorus.edge.http;

/**
 * A request the edge turns away before any service code sees it: no such route, a method the route
 * does not take, a body beyond the endpoint's limit or of the wrong kind, malformed JSON, or a caller
 * over its rate or concurrency share. {@link ErrorMapper} answers these in the short shape unless a
 * service adds its own rule (serving answers in OpenAI's shape).
 */
public final class RequestRejectedException extends RuntimeException {
    /** Why; the edge maps each reason to one status. */
    public enum Reason {
        NO_ROUTE("not_found"),
        METHOD_NOT_ALLOWED("method_not_allowed"),
        TOO_LARGE("too_large"),
        UNSUPPORTED_MEDIA_TYPE("unsupported_media_type"),
        INVALID_BODY("invalid_request"),
        RATE_LIMITED("rate_limit_exceeded"),
        BUSY("tenant_busy");

        private final String code;

        Reason(String code) {
            this.code = code;
        }

        /** The machine-readable error code clients see. */
        public String code() {
            return code;
        }
    }

    private final Reason reason;
    private final int retryAfterSeconds;

    public RequestRejectedException(Reason reason, String message) {
        this(reason, message, 0);
    }

    public RequestRejectedException(Reason reason, String message, int retryAfterSeconds) {
        super(message, null, false, false);
        this.reason = reason;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public Reason reason() {
        return reason;
    }

    /** 0 when retrying later does not help. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
