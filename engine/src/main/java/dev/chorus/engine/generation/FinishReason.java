package dev.chorus.engine.generation;

/** Why a sequence stopped; the lower-case names are the OpenAI finish_reason values. */
public enum FinishReason {
    STOP, LENGTH, CANCELLED;

    public String openAiName() {
        return this == CANCELLED ? "cancelled" : name().toLowerCase(java.util.Locale.ROOT);
    }
}
