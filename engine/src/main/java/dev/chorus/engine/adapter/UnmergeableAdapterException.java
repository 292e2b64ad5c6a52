package dev.chorus.engine.adapter;

/**
 * An adapter cannot be folded into the given base (wrong kind for the base, or a base whose grid
 * does not fit). An IllegalArgumentException so callers that validate arguments keep treating it as one.
 */
public final class UnmergeableAdapterException extends IllegalArgumentException {
    public UnmergeableAdapterException(String message) {
        super(message);
    }
}
