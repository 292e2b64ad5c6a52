package dev.chorus.kafka;

/** A record that is not a valid event of its topic; consumers send it to the dead-letter topic. */
public class EventFormatException extends RuntimeException {
    public EventFormatException(String message) {
        super(message);
    }

    public EventFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
