package dev.chorus.engine.tokenizer;

import dev.chorus.engine.EngineException;

/** A tokenizer file is missing, malformed or does not fit the model's vocabulary. The message names the problem. */
public class TokenizerException extends EngineException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
