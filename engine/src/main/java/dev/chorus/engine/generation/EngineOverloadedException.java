package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;

/** The waiting queue is full; the caller should retry later. */
public class EngineOverloadedException extends EngineException {
    public EngineOverloadedException(String message) {
        super(message);
    }
}
