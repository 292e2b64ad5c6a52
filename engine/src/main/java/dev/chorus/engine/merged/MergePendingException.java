package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterUnavailableException;

/**
 * A version of a merged-only type (sparse-peft, qa-sparse-peft) whose merged model for the served
 * base does not exist yet: it is being merged, so a later request will be served.
 */
public final class MergePendingException extends AdapterUnavailableException {
    private final AdapterKey key;

    public MergePendingException(AdapterKey key) {
        super("adapter " + key.name() + "@" + key.version() + " is being merged into the served base; retry shortly", null);
        this.key = key;
    }

    public AdapterKey key() {
        return key;
    }
}
