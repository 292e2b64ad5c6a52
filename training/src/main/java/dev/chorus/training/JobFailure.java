package dev.chorus.training;

/** Why a job failed, as its record says it: a stable code (registry_unavailable, no_training_examples, ...) and a message. */
final class JobFailure extends RuntimeException {
    private final String code;

    JobFailure(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    JobFailure(String code, String message) {
        this(code, message, null);
    }

    String code() {
        return code;
    }
}
