package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;

/**
 * Receives one request's output. Called on the engine thread: implementations must not block
 * (hand the data to another thread or a non-blocking stream).
 */
public interface TokenSink {
    /** A newly generated token and the text it completes (may be empty while a UTF-8 character is partial). */
    void onToken(int tokenId, String textDelta);

    void onFinish(FinishReason reason, int promptTokens, int completionTokens);

    void onError(EngineException error);
}
