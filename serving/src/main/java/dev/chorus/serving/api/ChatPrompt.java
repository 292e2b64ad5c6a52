package dev.chorus.serving.api;

import dev.chorus.engine.tokenizer.ChatTemplate;
import dev.chorus.engine.tokenizer.ModelChatTemplate;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Chat messages to the prompt text the model continues: through the model's own chat template
 * when it has one, else (base models) the contents concatenated one message per line, so a story
 * model given "Once upon a time" as the user message tells that story.
 */
final class ChatPrompt {
    private ChatPrompt() {
    }

    static String render(List<ChatMessage> messages, Optional<ModelChatTemplate> template) {
        if (template.isPresent()) {
            return template.get().render(messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList());
        }
        return messages.stream().map(ChatMessage::content).collect(Collectors.joining("\n"));
    }
}
