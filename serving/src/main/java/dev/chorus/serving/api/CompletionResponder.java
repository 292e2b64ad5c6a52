package dev.chorus.serving.api;

import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.engine.EngineException;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.generation.FinishReason;
import dev.chorus.engine.generation.TokenSink;
import io.vertx.core.Context;
import dev.chorus.serving.ops.ServingMetrics;
import io.vertx.core.http.HttpServerResponse;

/**
 * Bridges one request's engine output to its HTTP response. The engine calls the sink methods on
 * its own thread; each hops to the request's Vert.x context, so the subclasses' hooks run on the
 * event loop in token order and may touch the response freely. Also cancels the generation when
 * the client goes away and records the request's metrics.
 */
abstract class CompletionResponder implements TokenSink {
    protected final HttpServerResponse response;
    protected final CompletionJson json;
    private final Context context;
    private final EngineLoop engine;
    private final String requestId;
    private final ServingMetrics metrics;
    private final ErrorMapper errors;
    private final long startNanos;
    private final boolean stream;
    private boolean sawToken; // engine thread only
    private boolean done; // event loop only

    CompletionResponder(Exchange exchange, boolean stream) {
        this.response = exchange.response();
        this.json = exchange.json();
        this.context = exchange.context();
        this.engine = exchange.engine();
        this.requestId = exchange.requestId();
        this.metrics = exchange.metrics();
        this.errors = exchange.errors();
        this.startNanos = exchange.startNanos();
        this.stream = stream;
    }

    /** What every responder needs about its request; keeps the constructors short. */
    record Exchange(HttpServerResponse response, Context context, EngineLoop engine, String requestId, CompletionJson json,
            ServingMetrics metrics, ErrorMapper errors, long startNanos) {
    }

    /** Called on the event loop right after the engine accepted the request. */
    final void accepted() {
        response.closeHandler(ignored -> {
            if (!done) {
                engine.cancel(requestId); // frees the batch slot; onFinish(CANCELLED) follows
            }
        });
        begin();
    }

    @Override
    public final void onToken(int tokenId, String textDelta) {
        if (!sawToken) {
            sawToken = true;
            metrics.firstToken(startNanos);
        }
        if (!textDelta.isEmpty()) { // empty while a multi-byte character is incomplete
            context.runOnContext(ignored -> {
                if (!done && !response.closed()) {
                    delta(textDelta);
                }
            });
        }
    }

    @Override
    public final void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
        context.runOnContext(ignored -> {
            if (done) {
                return;
            }
            done = true;
            boolean delivered = reason != FinishReason.CANCELLED && !response.closed();
            if (delivered) {
                finish(reason.openAiName(), promptTokens, completionTokens);
            }
            metrics.completionEnded(delivered ? ServingMetrics.Outcome.COMPLETED : ServingMetrics.Outcome.CANCELLED,
                    stream, startNanos, promptTokens, completionTokens);
        });
    }

    @Override
    public final void onError(EngineException error) {
        context.runOnContext(ignored -> {
            if (done) {
                return;
            }
            done = true;
            ApiException api = errors.toApi(error);
            if (!response.closed()) {
                fail(api);
            }
            metrics.requestEnded(ServingMetrics.Outcome.of(api));
        });
    }

    /** Prepares the response (e.g. SSE headers) before any output. */
    protected abstract void begin();

    protected abstract void delta(String text);

    protected abstract void finish(String finishReason, int promptTokens, int completionTokens);

    protected abstract void fail(ApiException error);
}
