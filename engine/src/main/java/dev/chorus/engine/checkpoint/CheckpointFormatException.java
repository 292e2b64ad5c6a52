package dev.chorus.engine.checkpoint;

import dev.chorus.engine.llama.InvalidModelException;

/** A checkpoint or config file is missing, malformed or inconsistent. The message names the problem. */
public class CheckpointFormatException extends InvalidModelException {
    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
