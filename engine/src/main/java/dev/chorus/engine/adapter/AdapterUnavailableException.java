package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;

/**
 * An adapter version that cannot be loaded now but may be soon: its source (the registry) is
 * unreachable or busy. Not the adapter's fault, unlike {@link AdapterFormatException}; the next
 * request for it tries again.
 */
public class AdapterUnavailableException extends EngineException {
    public AdapterUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
