package dev.chorus.serving.feedback;

/** Feedback names a completion this tenant did not receive lately: unknown, expired and foreign ids are alike. */
public class UnknownCompletionException extends RuntimeException {
    private final String completionId;

    public UnknownCompletionException(String completionId) {
        super("no recent completion '" + completionId + "' of yours", null, false, false);
        this.completionId = completionId;
    }

    public String completionId() {
        return completionId;
    }
}
