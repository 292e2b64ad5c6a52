package dev.chorus.engine.checkpoint;

import dev.chorus.engine.EngineException;

/** A checkpoint, tokenizer or config file is missing, malformed or inconsistent. The message names the problem. */
public class CheckpointFormatException extends EngineException {
    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
