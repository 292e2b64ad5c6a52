package dev.chorus.serving.api;

import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import io.vertx.core.http.HttpHeaders;

/** stream=false: collects the text and answers once with the whole completion. */
final class BufferedResponder extends CompletionResponder {
    private final StringBuilder text = new StringBuilder();

    BufferedResponder(Exchange exchange) {
        super(exchange, false);
    }

    @Override
    protected void begin() {
    }

    @Override
    protected void delta(String delta) {
        text.append(delta);
    }

    @Override
    protected void finish(String finishReason, int promptTokens, int completionTokens) {
        response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(json.completion(text.toString(), finishReason, promptTokens, completionTokens).encode());
    }

    @Override
    protected void fail(ApiException error) {
        ErrorMapper.send(response, error);
    }
}
