package dev.chorus.engine;

/** Base of the engine's typed failures; the edges (CLI, HTTP) map subclasses to exit codes and statuses. */
public class EngineException extends RuntimeException {
    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
