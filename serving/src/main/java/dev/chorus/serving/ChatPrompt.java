package dev.chorus.serving;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Chat messages to the prompt text a base model continues. The served models carry no chat
 * template, so the contents are concatenated, one message per line, and the model continues after
 * the last one: a story model given "Once upon a time" as the user message tells that story.
 */
final class ChatPrompt {
    private ChatPrompt() {
    }

    static String render(List<ChatMessage> messages) {
        return messages.stream().map(ChatMessage::content).collect(Collectors.joining("\n"));
    }
}
