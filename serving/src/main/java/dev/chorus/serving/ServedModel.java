package dev.chorus.serving;

import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.tokenizer.Tokenizer;

/** A loaded model together with the engine loop that runs it; valid until shutdown. */
public record ServedModel(LoadedModel model, EngineLoop engine, Tokenizer tokenizer) {

    public String name() {
        return model.name();
    }
}
