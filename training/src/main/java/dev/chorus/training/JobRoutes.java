package dev.chorus.training;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.kafka.TrainingJobEvent;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * GET /v1/fine_tuning/jobs and GET /v1/fine_tuning/jobs/{id} in OpenAI's shapes (a list page with
 * {@code after}/{@code limit}/{@code has_more}; the {@code fine_tuning.job} object), Chorus' own
 * fields under {@code chorus}. A tenant sees only its jobs: another tenant's job id is the same 404
 * as an unknown one; operators see all.
 */
@ApplicationScoped
public class JobRoutes {
    private static final String JOBS = "/v1/fine_tuning/jobs";
    private static final int DEFAULT_LIMIT = 20;
    private static final int MAX_LIMIT = 100;

    private final Jobs jobs;
    private final ErrorMapper errors;
    private final ApiKeys keys;

    public JobRoutes(Jobs jobs, ErrorMapper errors, ApiKeys keys) {
        this.jobs = jobs;
        this.errors = errors;
        this.keys = keys;
    }

    void init(@Observes Router router) {
        router.get(JOBS).handler(keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e))))
                .handler(ctx -> respond(ctx, () -> page(ctx)));
        router.get(JOBS + "/:id").handler(keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e))))
                .handler(ctx -> respond(ctx, () -> json(job(ApiKeys.caller(ctx), ctx.pathParam("id")))));
    }

    private TrainingJobEvent job(Caller caller, String id) {
        return jobs.get(id).filter(j -> caller.mayAccess(j.tenant()))
                .orElseThrow(() -> ApiException.openAi(404, "invalid_request_error", "no fine-tuning job " + id, "id", "not_found"));
    }

    private JsonObject page(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        int limit = limit(ctx.queryParams().get("limit"));
        List<TrainingJobEvent> visible = jobs.list(caller::mayAccess);
        int from = 0;
        String after = ctx.queryParams().get("after");
        if (after != null) {
            String cursor = job(caller, after).jobId(); // 404 unless the caller may see it
            // By id: the job's state may have changed since the last page, its place in the order (created_at) has not.
            from = (int) visible.stream().takeWhile(j -> !j.jobId().equals(cursor)).count() + 1;
        }
        List<TrainingJobEvent> page = visible.subList(Math.min(from, visible.size()), Math.min(from + limit, visible.size()));
        JsonArray data = new JsonArray();
        page.forEach(j -> data.add(json(j)));
        return new JsonObject().put("object", "list").put("data", data).put("has_more", from + limit < visible.size());
    }

    static int limit(String value) {
        if (value == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1 && limit <= MAX_LIMIT) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiException.openAi(400, "invalid_request_error", "limit: an integer from 1 to " + MAX_LIMIT, "limit", "invalid_limit");
    }

    static JsonObject json(TrainingJobEvent j) {
        boolean produced = j.producedVersion() != null;
        JsonObject chorus = new JsonObject().put("tenant", j.tenant()).put("adapter", j.adapter())
                .put("from_version", j.fromVersion()).put("produced_version", j.producedVersion()).put("promoted", j.promoted())
                .put("step", j.step()).put("total_steps", j.totalSteps()).put("loss", j.loss()).put("attempt", j.attempt())
                .put("metrics", new JsonObject(new TreeMap<String, Object>(j.metrics())))
                .put("trained_through", j.trainedThrough() == null ? null : j.trainedThrough().toString())
                .put("updated_at", seconds(j.at()));
        JsonObject error = null;
        if (j.state() == TrainingJobEvent.State.FAILED) {
            error = new JsonObject().put("code", j.errorCode() == null ? "failed" : j.errorCode()).put("message", j.message())
                    .putNull("param");
        }
        return new JsonObject()
                .put("object", "fine_tuning.job")
                .put("id", j.jobId())
                .put("model", j.fromVersion() == null ? j.adapter() : j.adapter() + "@" + j.fromVersion())
                .put("organization_id", j.tenant())
                .put("status", j.state().name().toLowerCase(Locale.ROOT))
                .put("created_at", seconds(j.createdAt()))
                .put("finished_at", j.state().finished() ? seconds(j.at()) : null)
                .put("fine_tuned_model", produced ? j.adapter() + "@" + j.producedVersion() : null)
                .put("error", error)
                .put("trained_tokens", j.trainedTokens())
                .put("method", new JsonObject().put("type", "supervised"))
                .put("metadata", new JsonObject().put("trigger", "feedback")) // every job so far comes from feedback
                .put("chorus", chorus);
    }

    private static long seconds(Instant at) {
        return at.getEpochSecond();
    }

    /** Runs {@code work} off the event loop (reading the view may throw while it rebuilds) and answers 200 with its JSON. */
    private void respond(RoutingContext ctx, Supplier<JsonObject> work) {
        ctx.vertx().executeBlocking(work::get, false)
                .onSuccess(json -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.encode()))
                .onFailure(e -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }
}
