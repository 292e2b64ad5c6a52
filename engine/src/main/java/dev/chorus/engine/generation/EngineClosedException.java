package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;

/** The engine loop is shut down (or shutting down) and takes no more requests. */
public class EngineClosedException extends EngineException {
    public EngineClosedException(String message) {
        super(message);
    }
}
