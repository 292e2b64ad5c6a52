package dev.chorus.training;

/**
 * Why a job failed, as its record says it: a stable code (registry_unavailable, no_training_examples,
 * invalid_training_file, ...), a message, and the request parameter at fault when there is one.
 */
final class JobFailure extends RuntimeException {
    private final String code;
    private final String param;

    JobFailure(String code, String message, String param, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.param = param;
    }

    JobFailure(String code, String message, Throwable cause) {
        this(code, message, null, cause);
    }

    JobFailure(String code, String message) {
        this(code, message, null, null);
    }

    JobFailure(String code, String message, String param) {
        this(code, message, param, null);
    }

    String code() {
        return code;
    }

    String param() {
        return param;
    }
}
