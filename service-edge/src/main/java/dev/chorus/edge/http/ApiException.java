package dev.chorus.edge.http;

import io.vertx.core.json.JsonObject;

/**
 * A request outcome that is not the answer asked for: an HTTP status and a JSON error body. Only a
 * service's HTTP edge creates these (directly, or by mapping a typed exception with an
 * {@link ErrorMapper}); cores throw their own typed exceptions that know nothing of HTTP.
 *
 * <p>Two body shapes: OpenAI's {@code {"error": {"message", "type", "param", "code"}}} for APIs
 * that OpenAI SDKs call (a type is given), and {@code {"error": {"message", "code"}}} otherwise.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type; // null: the short shape
    private final String param;
    private final String code;
    private final int retryAfterSeconds; // 0 = no Retry-After header

    private ApiException(int status, String type, String message, String param, String code, int retryAfterSeconds) {
        super(message, null, false, false); // control flow: no stack trace to fill or leak
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** An error in OpenAI's shape; {@code param} and {@code code} may be null. */
    public static ApiException openAi(int status, String type, String message, String param, String code) {
        return new ApiException(status, type, message, param, code, 0);
    }

    /** An error in the short shape: a machine-readable code and a message for people. */
    public static ApiException of(int status, String code, String message) {
        return new ApiException(status, null, message, null, code, 0);
    }

    /** The same error, telling clients when to retry. */
    public ApiException retryAfter(int seconds) {
        return new ApiException(status, type, getMessage(), param, code, seconds);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public JsonObject body() {
        JsonObject error = new JsonObject().put("message", getMessage());
        if (type != null) {
            error.put("type", type).put("param", param); // OpenAI clients expect param, even null
        }
        return new JsonObject().put("error", error.put("code", code));
    }
}
