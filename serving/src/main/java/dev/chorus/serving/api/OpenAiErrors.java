package dev.chorus.serving.api;

import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.edge.http.RequestRejectedException;

/** Serving's errors in OpenAI's shape (type, param, code), as OpenAI clients expect them. */
public final class OpenAiErrors {
    private OpenAiErrors() {
    }

    public static ApiException invalid(String message, String param) {
        return ApiException.openAi(400, "invalid_request_error", message, param, null);
    }

    public static ApiException invalid(String message, String param, String code) {
        return ApiException.openAi(400, "invalid_request_error", message, param, code);
    }

    /** The same answer whether the model does not exist or belongs to another tenant: existence never leaks. */
    public static ApiException modelNotFound(String model) {
        return ApiException.openAi(404, "invalid_request_error",
                "The model '" + model + "' does not exist or you do not have access to it; GET /v1/models lists yours", "model",
                "model_not_found");
    }

    public static ApiException unauthorized(String message) {
        return ApiException.openAi(401, "invalid_request_error", message, null, "invalid_api_key");
    }

    /** The named adapter exists but cannot be used (its files are corrupt or do not fit this base model). */
    public static ApiException adapterUnusable(String message) {
        return ApiException.openAi(422, "invalid_request_error", message, "model", "adapter_unusable");
    }

    public static ApiException tooLarge(String message) {
        return ApiException.openAi(413, "invalid_request_error", message, null, "request_too_large");
    }

    public static ApiException overloaded(String message) {
        return ApiException.openAi(429, "rate_limit_error", message, null, "engine_overloaded").retryAfter(1);
    }

    /** What the shared edge refused (no route, wrong method, too large, bad JSON, over a limit), in OpenAI's shape. */
    public static ApiException rejected(RequestRejectedException e) {
        int status = ErrorMapper.status(e.reason());
        String type = switch (e.reason()) {
            case RATE_LIMITED, BUSY -> "rate_limit_error";
            default -> "invalid_request_error";
        };
        String code = e.reason() == RequestRejectedException.Reason.TOO_LARGE ? "request_too_large" : e.reason().code();
        ApiException api = ApiException.openAi(status, type, e.getMessage(), null, code);
        return e.retryAfterSeconds() > 0 ? api.retryAfter(e.retryAfterSeconds()) : api;
    }

    public static ApiException internal(String message) {
        return ApiException.openAi(500, "server_error", message, null, null);
    }

    public static ApiException unavailable(String message, int retryAfterSeconds) {
        return ApiException.openAi(503, "server_error", message, null, "model_not_ready").retryAfter(retryAfterSeconds);
    }
}
