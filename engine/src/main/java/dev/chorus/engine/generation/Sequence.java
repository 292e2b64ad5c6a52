package dev.chorus.engine.generation;

import dev.chorus.engine.sampling.Sampler;
import dev.chorus.engine.tokenizer.StreamingDetokenizer;

/** Per-request decoding state, touched only by the engine thread. */
final class Sequence {
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

    Sequence(GenerationRequest request, TokenSink sink, StreamingDetokenizer detokenizer) {
        this.request = request;
        this.sink = sink;
        this.sampler = new Sampler(request.sampling());
        this.detokenizer = detokenizer;
        this.stops = new StopStringMatcher(request.stopStrings());
    }
}
