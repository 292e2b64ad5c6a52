package dev.chorus.serving;

import io.vertx.core.json.JsonObject;

/**
 * A request outcome that is not a completion, with its HTTP status and the OpenAI error fields.
 * Only the HTTP edge creates and reads these; the engine has its own typed exceptions.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final int retryAfterSeconds; // 0 = no Retry-After header

    private ApiException(int status, String type, String message, String param, String code, int retryAfterSeconds) {
        super(message, null, false, false); // control flow: no stack trace to fill or leak
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static ApiException invalid(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, null, 0);
    }

    public static ApiException invalid(String message, String param, String code) {
        return new ApiException(400, "invalid_request_error", message, param, code, 0);
    }

    /** The same answer whether the model does not exist or belongs to another tenant: existence never leaks. */
    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error",
                "The model '" + model + "' does not exist or you do not have access to it; GET /v1/models lists yours", "model",
                "model_not_found", 0);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", message, null, "invalid_api_key", 0);
    }

    /** The named adapter exists but cannot be used (its files are corrupt or do not fit this base model). */
    public static ApiException adapterUnusable(String message) {
        return new ApiException(422, "invalid_request_error", message, "model", "adapter_unusable", 0);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "invalid_request_error", message, null, "request_too_large", 0);
    }

    public static ApiException overloaded(String message) {
        return new ApiException(429, "rate_limit_error", message, null, "engine_overloaded", 1);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", message, null, null, 0);
    }

    public static ApiException unavailable(String message, int retryAfterSeconds) {
        return new ApiException(503, "server_error", message, null, "model_not_ready", retryAfterSeconds);
    }

    public int status() {
        return status;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** {"error": {"message", "type", "param", "code"}} as OpenAI clients expect. */
    public JsonObject body() {
        return new JsonObject().put("error", new JsonObject()
                .put("message", getMessage())
                .put("type", type)
                .put("param", param)
                .put("code", code));
    }
}
