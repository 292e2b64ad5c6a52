package dev.chorus.serving.api;

import dev.chorus.engine.tokenizer.ChatTemplate;
import dev.chorus.engine.tokenizer.ModelChatTemplate;
import java.util.List;
import java.util.Optional;

/** Chat messages to the prompt text the model continues (the engine's rule, which training uses too). */
final class ChatPrompt {
    private ChatPrompt() {
    }

    static String render(List<ChatMessage> messages, Optional<ModelChatTemplate> template) {
        return ModelChatTemplate.prompt(messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList(), template);
    }
}
