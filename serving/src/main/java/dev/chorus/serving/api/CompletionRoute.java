package dev.chorus.serving.api;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.EdgeRoutes;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.edge.http.RateLimits;
import dev.chorus.edge.http.TenantGate;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.generation.GenerationRequest;
import dev.chorus.engine.sampling.SamplingParams;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.serving.ChorusConfig;
import dev.chorus.serving.feedback.FeedbackIntake;
import dev.chorus.serving.feedback.RecentCompletion;
import dev.chorus.serving.model.ModelService;
import dev.chorus.serving.model.ServedModel;
import dev.chorus.serving.ops.ServingMetrics;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * POST /v1/completions and /v1/chat/completions on the Vert.x router: authenticate, validate,
 * resolve the model (base or one of the caller's adapters), tokenize off the event loop, hand the
 * request to the engine and let a {@link CompletionResponder} stream the result back. Nothing here
 * blocks the event loop.
 */
@ApplicationScoped
public class CompletionRoute {
    private static final int LOADING_RETRY_AFTER_SECONDS = 5;

    private final ModelService models;
    private final ServingMetrics metrics;
    private final FeedbackIntake feedback;
    private final ApiKeys keys;
    private final ErrorMapper errors;
    private final int maxRequestBytes;
    private final TenantGate gate;
    private final RateLimits limits;

    public CompletionRoute(ModelService models, ServingMetrics metrics, FeedbackIntake feedback, ApiKeys keys, ErrorMapper errors,
            ChorusConfig config, TenantGate gate, RateLimits limits) {
        this.models = models;
        this.metrics = metrics;
        this.feedback = feedback;
        this.keys = keys;
        this.errors = errors;
        this.maxRequestBytes = config.api().maxRequestBytes();
        this.gate = gate;
        this.limits = limits;
    }

    void init(@Observes Router router) {
        route(router, "/v1/completions", false);
        route(router, "/v1/chat/completions", true);
    }

    private void route(Router router, String path, boolean chat) {
        BodyHandler body = BodyHandler.create(false).setBodyLimit(maxRequestBytes);
        router.post(path)
                // authenticated and admitted to the tenant's share before the body is read, so strangers
                // cannot make us buffer it and one tenant's flood cannot hold up the others
                .handler(keys.authenticateThen((ctx, caller, proceed) -> {
                    limits.request(caller, ctx.response());
                    refuseBodiesNoPromptCanFill(ctx, chat);
                    gate.admission().admit(ctx, caller, proceed);
                }, body, (ctx, e) -> reject(ctx, e instanceof ApiException api ? api : errors.toApi(e))))
                .handler(ctx -> complete(ctx, chat))
                .failureHandler(this::routeFailed);
    }

    private void complete(RoutingContext ctx, boolean chat) {
        long startNanos = System.nanoTime();
        ServedModel served;
        CompletionRequest request;
        try {
            served = models.served().orElseThrow(this::unavailable);
            Buffer body = ctx.body().buffer();
            request = chat ? CompletionRequestParser.parseChat(body) : CompletionRequestParser.parse(body);
            checkPromptLength(request, served);
        } catch (ApiException e) {
            reject(ctx, e);
            return;
        }
        Context context = Vertx.currentContext();
        Caller caller = ApiKeys.caller(ctx);
        // Off the event loop: resolving an adapter may read the adapters directory, and rendering and
        // tokenizing are CPU work proportional to the prompt.
        ctx.vertx().executeBlocking(() -> {
            ServedModel.Target target = served.resolve(caller, request.model());
            int[] promptIds = served.tokenizer().encode(
                    request.chat() ? ChatPrompt.render(request.messages(), served.chatTemplate()) : request.prompt());
            return new Prepared(target, promptIds);
        }, false)
                .onComplete(done -> TenantGate.release(ctx)) // generation is the engine's to share out
                .onSuccess(p -> submit(ctx, context, served, p.target(), request, p.promptIds(), startNanos))
                .onFailure(error -> reject(ctx, errors.toApi(error)));
    }

    /** What the blocking preparation hands back to the event loop. */
    private record Prepared(ServedModel.Target target, int[] promptIds) {
    }

    private void submit(RoutingContext ctx, Context context, ServedModel served, ServedModel.Target target, CompletionRequest request,
            int[] promptIds, long startNanos) {
        if (ctx.response().closed()) {
            metrics.requestEnded(ServingMetrics.Outcome.CANCELLED);
            return;
        }
        String id = (request.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        try {
            int contextLength = served.engine().contextLength();
            int maxTokens = request.maxTokens() == CompletionRequestParser.UNTIL_CONTEXT_END
                    ? Math.max(1, contextLength - promptIds.length)
                    : request.maxTokens();
            checkFitsContext(promptIds.length, maxTokens, contextLength);
            limits.tokens(ApiKeys.caller(ctx), (long) promptIds.length + maxTokens, ctx.response());
            long seed = request.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
            SamplingParams sampling = new SamplingParams(request.temperature(), request.topK(), request.topP(), seed);
            Caller caller = ApiKeys.caller(ctx);
            // the engine shares its slots and prefill passes out by tenant (operators count as one)
            GenerationRequest generation = new GenerationRequest(id, promptIds, maxTokens, sampling, request.stop(), target.adapter(),
                    caller.admin() ? GenerationRequest.NO_TENANT : caller.tenant());
            CompletionResponder.Exchange exchange = new CompletionResponder.Exchange(ctx.response(), context, served.engine(), id,
                    new CompletionJson(id, Instant.now().getEpochSecond(), target.name(), request.chat()), metrics, errors, startNanos,
                    remember(ApiKeys.caller(ctx), id, target, request), ApiKeys.caller(ctx).tenant());
            CompletionResponder responder = request.stream()
                    ? new StreamingResponder(exchange, request.includeUsage())
                    : new BufferedResponder(exchange);
            served.engine().submit(generation, responder);
            responder.accepted(); // engine callbacks hop onto this same context, so they run after this
        } catch (RuntimeException e) {
            reject(ctx, errors.toApi(e));
        }
    }

    /** Keeps a delivered completion where feedback can find it by id: under the tenant that received it. */
    private Consumer<String> remember(Caller caller, String id, ServedModel.Target target, CompletionRequest request) {
        if (caller.admin()) {
            return text -> { }; // operators give no feedback
        }
        AdapterKey adapter = target.adapter();
        List<FeedbackEvent.Message> messages = request.chat()
                ? request.messages().stream().map(m -> new FeedbackEvent.Message(m.role(), m.content())).toList()
                : null;
        return text -> feedback.completed(new RecentCompletion(id, caller.tenant(), adapter == null ? null : adapter.name(),
                adapter == null ? null : adapter.version(), request.prompt(), messages, text, Instant.now()));
    }

    /**
     * A declared body larger than any request that fits the context can be (every prompt character
     * as a six-byte JSON escape, plus room for the other fields and one message per token) is refused
     * before a byte of it is read; bodies over the endpoint's limit get its 413 instead.
     */
    private void refuseBodiesNoPromptCanFill(RoutingContext ctx, boolean chat) {
        String declared = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        ServedModel served = models.served().orElse(null);
        if (declared == null || served == null || !declared.matches("\\d{1,18}")) {
            return;
        }
        int contextLength = served.engine().contextLength();
        long largest = 6 * served.maxPromptChars() + 64 * 1024 + 64L * contextLength;
        long length = Long.parseLong(declared);
        if (length > largest && length <= maxRequestBytes) {
            throw OpenAiErrors.invalid("This model's maximum context length is " + contextLength + " tokens; a body of " + declared
                    + " bytes holds more than that can spell (at most " + largest + " bytes)", chat ? "messages" : "prompt",
                    "context_length_exceeded");
        }
    }

    /**
     * A prompt longer than the context length times the longest token's text cannot fit whatever it
     * tokenizes to: refused before tokenizing, so oversized prompts cost no tokenizer time. Whatever
     * passes has a bounded tokenizing cost.
     */
    private static void checkPromptLength(CompletionRequest request, ServedModel served) {
        long chars = request.chat()
                ? request.messages().stream().mapToLong(m -> m.content() == null ? 0 : m.content().length()).sum()
                : request.prompt().length();
        if (chars > served.maxPromptChars()) {
            int contextLength = served.engine().contextLength();
            throw OpenAiErrors.invalid("This model's maximum context length is " + contextLength + " tokens; the "
                    + (request.chat() ? "messages hold " : "prompt holds ") + chars + " characters, more than " + contextLength
                    + " tokens can spell (" + served.maxPromptChars() + " characters at most)", request.chat() ? "messages" : "prompt",
                    "context_length_exceeded");
        }
    }

    /** The engine checks this too; checking here first names the parameter and uses OpenAI's error code. */
    private static void checkFitsContext(int promptTokens, int maxTokens, int contextLength) {
        if ((long) promptTokens + maxTokens > contextLength) {
            throw OpenAiErrors.invalid("This model's maximum context length is " + contextLength + " tokens, but the prompt ("
                    + promptTokens + " tokens) plus max_tokens (" + maxTokens + ") needs " + ((long) promptTokens + maxTokens)
                    + "; reduce the prompt or max_tokens", "max_tokens", "context_length_exceeded");
        }
    }

    private ApiException unavailable() {
        // After a failed load retrying soon will not help, but 503 still says "not this request's fault".
        return OpenAiErrors.unavailable(models.unavailableReason(), models.loadFailed() ? 60 : LOADING_RETRY_AFTER_SECONDS);
    }

    private void reject(RoutingContext ctx, ApiException error) {
        metrics.requestEnded(ServingMetrics.Outcome.of(error));
        ErrorMapper.send(ctx.response(), error);
    }

    /** Failures raised by Vert.x handlers before ours (body too large, ...) still get the OpenAI error shape. */
    private void routeFailed(RoutingContext ctx) {
        Throwable failure = EdgeRoutes.failure(ctx, maxRequestBytes);
        if (failure == null) {
            metrics.requestEnded(ServingMetrics.Outcome.CANCELLED);
        } else {
            reject(ctx, errors.toApi(failure));
        }
    }
}
