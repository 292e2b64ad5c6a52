package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;

/** An adapter's files are malformed or do not fit the base model; the message names the problem. */
public class AdapterFormatException extends EngineException {
    public AdapterFormatException(String message) {
        super(message);
    }

    public AdapterFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
