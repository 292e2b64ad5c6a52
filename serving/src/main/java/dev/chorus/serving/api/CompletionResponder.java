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
import java.util.function.Consumer;

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
    private final Consumer<String> delivered;
    private final String tenant; // whose figures this request counts in (null: an operator's)
    private final StringBuilder text = new StringBuilder(); // event loop only
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
        this.delivered = exchange.delivered();
        this.tenant = exchange.tenant();
    }

    /**
     * What every responder needs about its request; keeps the constructors short. {@code delivered}
     * gets the whole text once the client has it (so feedback can name the completion).
     */
    record Exchange(HttpServerResponse response, Context context, EngineLoop engine, String requestId, CompletionJson json,
            ServingMetrics metrics, ErrorMapper errors, long startNanos, Consumer<String> delivered, String tenant) {
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
            metrics.firstToken(tenant, startNanos);
        }
        if (!textDelta.isEmpty()) { // empty while a multi-byte character is incomplete
            context.runOnContext(ignored -> {
                if (!done && !response.closed()) {
                    text.append(textDelta);
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
                this.delivered.accept(text.toString());
            }
            metrics.completionEnded(tenant, delivered ? ServingMetrics.Outcome.COMPLETED : ServingMetrics.Outcome.CANCELLED,
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

    /** The text sent so far. */
    protected final String text() {
        return text.toString();
    }

    /** Prepares the response (e.g. SSE headers) before any output. */
    protected abstract void begin();

    protected abstract void delta(String text);

    protected abstract void finish(String finishReason, int promptTokens, int completionTokens);

    protected abstract void fail(ApiException error);
}
