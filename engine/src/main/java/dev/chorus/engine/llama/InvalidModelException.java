package dev.chorus.engine.llama;

import dev.chorus.engine.EngineException;

/** A model's definition is inconsistent: config fields that do not fit together, tensors of the wrong shape. */
public class InvalidModelException extends EngineException {
    public InvalidModelException(String message) {
        super(message);
    }

    public InvalidModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
