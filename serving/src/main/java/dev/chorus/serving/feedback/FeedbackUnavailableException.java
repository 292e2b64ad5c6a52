package dev.chorus.serving.feedback;

/** The feedback topic did not acknowledge the event in time; it may or may not be written, so the client retries with the same event id. */
public class FeedbackUnavailableException extends RuntimeException {
    public FeedbackUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
