package dev.chorus.engine.adapter;

import dev.chorus.engine.EngineException;

/** No such adapter version for this tenant; the edge maps it to 404 whatever the reason, so existence never leaks. */
public class AdapterNotFoundException extends EngineException {
    private final AdapterKey key;

    public AdapterNotFoundException(AdapterKey key) {
        super("adapter " + key.name() + "@" + key.version() + " not found");
        this.key = key;
    }

    public AdapterKey key() {
        return key;
    }
}
