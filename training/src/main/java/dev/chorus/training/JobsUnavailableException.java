package dev.chorus.training;

/** The job records cannot be read or written right now (still rebuilding from the topic, or Kafka is down). */
public class JobsUnavailableException extends RuntimeException {
    public JobsUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
