package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Collects one request's output for assertions. */
class RecordingSink implements TokenSink {
    final List<Integer> tokens = new ArrayList<>();
    final StringBuilder text = new StringBuilder();
    final CompletableFuture<FinishReason> finished = new CompletableFuture<>();
    volatile int completionTokens = -1;

    @Override
    public synchronized void onToken(int tokenId, String textDelta) {
        tokens.add(tokenId);
        text.append(textDelta);
    }

    @Override
    public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
        this.completionTokens = completionTokens;
        finished.complete(reason);
    }

    @Override
    public void onError(EngineException error) {
        finished.completeExceptionally(error);
    }

    FinishReason await() {
        try {
            return finished.get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request did not finish: " + e, e);
        }
    }

    synchronized int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}
