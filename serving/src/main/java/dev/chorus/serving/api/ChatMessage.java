package dev.chorus.serving.api;

/** One message of a chat request: role system, developer, user or assistant, and its text. */
public record ChatMessage(String role, String content) {
}
