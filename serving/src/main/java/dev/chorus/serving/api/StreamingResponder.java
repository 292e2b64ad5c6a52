package dev.chorus.serving.api;

import dev.chorus.edge.http.ApiException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;

/** Server-sent events: one chunk per text delta, a closing chunk, optional usage, then [DONE]. */
final class StreamingResponder extends CompletionResponder {
    private static final String DONE = "data: [DONE]\n\n";
    private final boolean includeUsage;

    StreamingResponder(Exchange exchange, boolean includeUsage) {
        super(exchange, true);
        this.includeUsage = includeUsage;
    }

    @Override
    protected void begin() {
        response.setChunked(true)
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                .putHeader("X-Accel-Buffering", "no"); // keep reverse proxies from buffering the stream
        response.writeHead(); // the client sees 200 now, not at the first token
        JsonObject opening = json.openingChunk();
        if (opening != null) {
            event(opening);
        }
    }

    @Override
    protected void delta(String text) {
        event(json.chunk(text, null));
    }

    @Override
    protected void finish(String finishReason, int promptTokens, int completionTokens) {
        event(json.chunk("", finishReason));
        if (includeUsage) {
            event(json.usageChunk(promptTokens, completionTokens));
        }
        response.end(DONE);
    }

    @Override
    protected void fail(ApiException error) {
        // Status 200 is already sent: report the failure in-band, as OpenAI does, and end the stream.
        event(error.body());
        response.end(DONE);
    }

    private void event(JsonObject data) {
        response.write("data: " + data.encode() + "\n\n");
    }
}
