package dev.chorus.serving;

import dev.chorus.engine.generation.GenerationRequest;
import dev.chorus.engine.sampling.SamplingParams;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * POST /v1/completions on the Vert.x router: validate, tokenize off the event loop, hand the
 * request to the engine and let a {@link CompletionResponder} stream the result back. Nothing here
 * blocks the event loop.
 */
@ApplicationScoped
public class CompletionRoute {
    private static final int LOADING_RETRY_AFTER_SECONDS = 5;

    private final ModelService models;
    private final ServingMetrics metrics;
    private final int maxRequestBytes;

    public CompletionRoute(ModelService models, ServingMetrics metrics, ChorusConfig config) {
        this.models = models;
        this.metrics = metrics;
        this.maxRequestBytes = config.api().maxRequestBytes();
    }

    void init(@Observes Router router) {
        router.post("/v1/completions")
                .handler(BodyHandler.create(false).setBodyLimit(maxRequestBytes))
                .handler(this::complete)
                .failureHandler(this::routeFailed);
    }

    private void complete(RoutingContext ctx) {
        long startNanos = System.nanoTime();
        ServedModel served;
        CompletionRequest request;
        try {
            served = models.served().orElseThrow(this::unavailable);
            request = CompletionRequestParser.parse(ctx.body().buffer());
            if (request.model().isPresent() && !request.model().get().equals(served.name())) {
                throw ApiException.modelNotFound(request.model().get(), served.name());
            }
        } catch (ApiException e) {
            reject(ctx, e);
            return;
        }
        Context context = Vertx.currentContext();
        // Tokenizing is CPU work proportional to the prompt: keep it off the event loop.
        ctx.vertx().executeBlocking(() -> served.tokenizer().encode(request.prompt()), false)
                .onSuccess(promptIds -> submit(ctx, context, served, request, promptIds, startNanos))
                .onFailure(error -> reject(ctx, ApiErrors.toApi(error)));
    }

    private void submit(RoutingContext ctx, Context context, ServedModel served, CompletionRequest request, int[] promptIds,
            long startNanos) {
        if (ctx.response().closed()) {
            metrics.requestEnded(ServingMetrics.Outcome.CANCELLED);
            return;
        }
        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        try {
            checkFitsContext(promptIds.length, request.maxTokens(), served.engine().contextLength());
            long seed = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
            SamplingParams sampling = new SamplingParams(request.temperature(), request.topK(), request.topP(), seed);
            GenerationRequest generation = new GenerationRequest(id, promptIds, request.maxTokens(), sampling, request.stop());
            CompletionResponder.Exchange exchange = new CompletionResponder.Exchange(ctx.response(), context, served.engine(), id,
                    new CompletionJson(id, Instant.now().getEpochSecond(), served.name()), metrics, startNanos);
            CompletionResponder responder = request.stream()
                    ? new StreamingResponder(exchange, request.includeUsage())
                    : new BufferedResponder(exchange);
            served.engine().submit(generation, responder);
            responder.accepted(); // engine callbacks hop onto this same context, so they run after this
        } catch (RuntimeException e) {
            reject(ctx, ApiErrors.toApi(e));
        }
    }

    /** The engine checks this too; checking here first names the parameter and uses OpenAI's error code. */
    private static void checkFitsContext(int promptTokens, int maxTokens, int contextLength) {
        if ((long) promptTokens + maxTokens > contextLength) {
            throw ApiException.invalid("This model's maximum context length is " + contextLength + " tokens, but the prompt ("
                    + promptTokens + " tokens) plus max_tokens (" + maxTokens + ") needs " + ((long) promptTokens + maxTokens)
                    + "; reduce the prompt or max_tokens", "max_tokens", "context_length_exceeded");
        }
    }

    private ApiException unavailable() {
        // After a failed load retrying soon will not help, but 503 still says "not this request's fault".
        return ApiException.unavailable(models.unavailableReason(), models.loadFailed() ? 60 : LOADING_RETRY_AFTER_SECONDS);
    }

    private void reject(RoutingContext ctx, ApiException error) {
        metrics.requestEnded(ServingMetrics.Outcome.of(error));
        ApiErrors.send(ctx.response(), error);
    }

    /** Failures raised by Vert.x handlers before ours (body too large, ...) still get the OpenAI error shape. */
    private void routeFailed(RoutingContext ctx) {
        ApiException error = ctx.statusCode() == 413
                ? ApiException.tooLarge("request body exceeds " + maxRequestBytes + " bytes")
                : ApiErrors.toApi(ctx.failure() != null ? ctx.failure() : new IllegalStateException("status " + ctx.statusCode()));
        reject(ctx, error);
    }
}
