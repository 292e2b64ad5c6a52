package dev.chorus.training;

/** A training file that is not usable as uploaded: the message names the line and what is wrong with it. */
public class InvalidTrainingFileException extends RuntimeException {
    public InvalidTrainingFileException(String message) {
        super(message);
    }
}
