package dev.chorus.engine.generation;

import dev.chorus.engine.sampling.Sampler;
import dev.chorus.engine.tokenizer.StreamingDetokenizer;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Per-request decoding state and what a sampled token does to it; touched only by the engine thread. */
final class Sequence {
    private static final Logger LOG = Logger.getLogger(Sequence.class.getName());

    final GenerationRequest request;
    final TokenSink sink;
    final Sampler sampler;
    final StreamingDetokenizer detokenizer; // null when the model has no tokenizer
    final StopStringMatcher stops;
    int slot = -1;
    int position; // tokens already in the KV cache
    int lastToken;
    int generated;
    FinishReason done; // set once the sequence must leave the batch
    int adapterSlot; // 0: the base model
    boolean adapterPinned; // holds a pin on its adapter version until it finishes
    dev.chorus.engine.merged.MergedVariant variant; // null: the base model (with its adapter, if any); pinned until it finishes

    Sequence(GenerationRequest request, TokenSink sink, StreamingDetokenizer detokenizer) {
        this.request = request;
        this.sink = sink;
        this.sampler = new Sampler(request.sampling());
        this.detokenizer = detokenizer;
        this.stops = new StopStringMatcher(request.stopStrings());
    }

    /** Records a sampled token, emits its text and decides whether the sequence is done. */
    void accept(int token, Set<Integer> stopTokens) {
        generated++;
        lastToken = token;
        if (stopTokens.contains(token)) {
            done = FinishReason.STOP;
            String tail = heldBackText(); // an end token carries no text of its own
            if (!tail.isEmpty()) {
                emit(token, tail);
            }
            return;
        }
        String text = detokenizer == null ? "" : stops.accept(detokenizer.push(token));
        if (stops.stopped()) {
            done = FinishReason.STOP;
        } else if (generated >= request.maxTokens()) {
            done = FinishReason.LENGTH;
            text += heldBackText();
        }
        emit(token, text);
    }

    /** Tells the sink the sequence ended; a failing sink hurts no one else. */
    void finished(FinishReason reason) {
        try {
            sink.onFinish(reason, request.promptIds().length, generated);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "token sink of " + request.id() + " failed on finish", e);
        }
    }

    void failed(dev.chorus.engine.EngineException error) {
        try {
            sink.onError(error);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "token sink of " + request.id() + " failed on error", e);
        }
    }

    private String heldBackText() {
        return detokenizer == null ? "" : stops.accept(detokenizer.flush()) + stops.flush();
    }

    private void emit(int token, String text) {
        try {
            sink.onToken(token, text);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "token sink of " + request.id() + " failed; cancelling it", e);
            done = FinishReason.CANCELLED;
        }
    }
}
