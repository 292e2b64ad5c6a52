package dev.chorus.serving.api;

import dev.chorus.edge.auth.UnauthenticatedException;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.edge.http.RequestRejectedException;
import dev.chorus.edge.http.TenantGate;
import dev.chorus.engine.EngineException;
import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterFormatException;
import dev.chorus.engine.adapter.AdapterNotFoundException;
import dev.chorus.engine.adapter.AdapterUnavailableException;
import dev.chorus.engine.merged.MergePendingException;
import dev.chorus.engine.generation.EngineClosedException;
import dev.chorus.engine.generation.EngineOverloadedException;
import dev.chorus.engine.tokenizer.ChatTemplateException;
import dev.chorus.serving.ChorusConfig;
import dev.chorus.serving.feedback.FeedbackUnavailableException;
import dev.chorus.serving.feedback.UnknownCompletionException;
import dev.chorus.serving.model.ModelNotFoundException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** The one place where engine and serving exceptions become HTTP statuses (the error body is the edge's). */
@ApplicationScoped
public class ServingErrors {
    private static final Logger LOG = Logger.getLogger(ServingErrors.class);
    /** A re-merge of the small models served here takes seconds (training merges on publish). */
    private static final int MERGE_RETRY_AFTER_SECONDS = 10;

    /** Each tenant's share of request preparation, shared by every route that reads a body. */
    @Produces
    @Singleton
    TenantGate tenantGate(ChorusConfig config) {
        return new TenantGate(config.api().tenantConcurrency(), config.api().tenantQueue());
    }

    @Produces
    @Singleton
    ErrorMapper errors(ChorusConfig config) {
        int feedbackRetryAfter = (int) Math.max(1, config.feedback().ackTimeout().toSeconds());
        return ErrorMapper.builder()
                .on(UnauthenticatedException.class, e -> OpenAiErrors.unauthorized(e.getMessage()))
                .on(RequestRejectedException.class, OpenAiErrors::rejected)
                // unknown, expired and other tenants' completion ids alike: existence never leaks
                .on(UnknownCompletionException.class, e -> ApiException.openAi(404, "invalid_request_error",
                        "No completion '" + e.completionId() + "' of yours is remembered; send model, prompt or messages, and completion instead",
                        "completion_id", "completion_not_found"))
                .on(FeedbackUnavailableException.class, e -> {
                    LOG.warnf("feedback not accepted: %s", e.getMessage());
                    return ApiException.openAi(503, "server_error", e.getMessage(), null, "feedback_unavailable").retryAfter(feedbackRetryAfter);
                })
                .on(ModelNotFoundException.class, e -> OpenAiErrors.modelNotFound(e.model()))
                .on(AdapterNotFoundException.class, e -> OpenAiErrors.modelNotFound(e.key().name())) // removed after we resolved it
                // a merged-only version before training attached its merged model: it will be served soon
                .on(MergePendingException.class, e -> ApiException.openAi(503, "server_error", e.getMessage(), "model", "adapter_being_merged")
                        .retryAfter(MERGE_RETRY_AFTER_SECONDS))
                .on(AdapterUnavailableException.class, e -> {
                    LOG.warnf("adapter not loadable now: %s", e.getMessage());
                    return ApiException.openAi(503, "server_error", e.getMessage(), "model", "adapter_unavailable").retryAfter(5);
                })
                .on(AdapterFormatException.class, e -> {
                    LOG.warnf("adapter unusable: %s", e.getMessage());
                    return OpenAiErrors.adapterUnusable(e.getMessage());
                })
                // the messages break the model's chat template's rules
                .on(ChatTemplateException.class, e -> OpenAiErrors.invalid(e.getMessage(), "messages"))
                .on(InvalidRequestException.class, e -> OpenAiErrors.invalid(e.getMessage(), null))
                .on(EngineOverloadedException.class, e -> OpenAiErrors.overloaded(e.getMessage()))
                .on(EngineClosedException.class, e -> OpenAiErrors.unavailable(e.getMessage(), 5))
                .on(EngineException.class, e -> {
                    LOG.warnf("engine failure: %s", e.getMessage());
                    return OpenAiErrors.internal(e.getMessage());
                })
                .otherwise(e -> {
                    // Anything else is our bug: log it fully, tell the client nothing internal.
                    LOG.error("unexpected failure while serving a completion", e);
                    return OpenAiErrors.internal("internal server error");
                });
    }
}
