package dev.chorus.engine.tokenizer;

import dev.chorus.engine.EngineException;

/**
 * A chat template that cannot be parsed (syntax errors and unsupported Jinja constructs, reported with line and
 * column), that fails while rendering (type errors), or that called {@code raise_exception(msg)} — in which case the
 * message is exactly {@code msg}, so callers can surface the template author's wording unchanged.
 */
public class ChatTemplateException extends EngineException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
