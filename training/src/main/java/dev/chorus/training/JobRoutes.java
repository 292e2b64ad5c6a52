package dev.chorus.training;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.kafka.JobLogEvent;
import dev.chorus.kafka.TrainingJobEvent;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * OpenAI's fine-tuning jobs API: POST /v1/fine_tuning/jobs (the job validates its files, then
 * queues), GET /v1/fine_tuning/jobs[?after=&limit=], GET …/{id}, GET …/{id}/events[?after=&limit=]
 * (newest first), GET …/{id}/checkpoints, POST …/{id}/cancel. A tenant sees only its jobs: another
 * tenant's job id is the same 404 as an unknown one; operators see all (and create none: a job
 * belongs to a tenant).
 */
@ApplicationScoped
public class JobRoutes {
    private static final String JOBS = "/v1/fine_tuning/jobs";
    private static final int DEFAULT_LIMIT = 20;
    private static final int MAX_LIMIT = 100;
    private static final int MAX_BODY = 64 * 1024;

    private final Jobs jobs;
    private final FileStore files;
    private final FileValidation validation;
    private final Instance<JobRunner> runner;
    private final Scheduler scheduler;
    private final ErrorMapper errors;
    private final ApiKeys keys;
    private final JobJson json;
    private final String baseModel;
    private final Clock clock;

    public JobRoutes(Jobs jobs, FileStore files, FileValidation validation, Instance<JobRunner> runner, Scheduler scheduler,
            ErrorMapper errors, ApiKeys keys, TrainingConfig config, Clock clock) {
        this.jobs = jobs;
        this.files = files;
        this.validation = validation;
        this.runner = runner;
        this.scheduler = scheduler;
        this.errors = errors;
        this.keys = keys;
        this.json = new JobJson(config.job());
        this.baseModel = Path.of(config.baseModel()).getFileName().toString();
        this.clock = clock;
    }

    void init(@Observes Router router) {
        router.post(JOBS).handler(keys.authenticateThen(BodyHandler.create(false).setBodyLimit(MAX_BODY),
                (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e)))).handler(ctx -> respond(ctx, () -> create(ctx)));
        router.get(JOBS).handler(authenticated()).handler(ctx -> respond(ctx, () -> page(ctx)));
        router.get(JOBS + "/:id").handler(authenticated()).handler(ctx -> respond(ctx, () -> json.job(job(ctx))));
        router.get(JOBS + "/:id/events").handler(authenticated()).handler(ctx -> respond(ctx, () -> events(ctx)));
        router.get(JOBS + "/:id/checkpoints").handler(authenticated()).handler(ctx -> respond(ctx, () -> checkpoints(ctx)));
        router.post(JOBS + "/:id/cancel").handler(authenticated()).handler(ctx -> respond(ctx, () -> cancel(ctx)));
    }

    private Handler<RoutingContext> authenticated() {
        return keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }

    private JsonObject create(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        if (caller.tenant() == null) {
            throw ApiException.openAi(400, "invalid_request_error", "a job belongs to a tenant: create it with the tenant's key", null,
                    "tenant_key_required");
        }
        JsonObject body;
        try {
            body = ctx.body().asJsonObject();
        } catch (DecodeException | ClassCastException e) {
            body = null;
        }
        if (body == null) {
            throw ApiException.openAi(400, "invalid_request_error", "the body must be a JSON object", null, "invalid_json");
        }
        String id = Jobs.newId();
        JobRequests.NewJob n = new JobRequests(baseModel, fileId -> files.get(fileId).filter(f -> caller.tenant().equals(f.tenant())))
                .read(body, id);
        TrainingJobEvent job = jobs.publish(TrainingJobEvent.validating(id, caller.tenant(), n.adapter(), n.fromVersion(), n.request(),
                clock.instant()));
        ctx.vertx().executeBlocking(() -> {
            validation.validate(id);
            scheduler.nudge(); // start it now if a runner slot is free, not at the next interval
            return null;
        }, false);
        return json.job(job);
    }

    private JsonObject cancel(RoutingContext ctx) {
        TrainingJobEvent job = job(ctx);
        if (job.state().finished()) {
            throw cannotCancel(job);
        }
        TrainingJobEvent cancelled;
        try {
            cancelled = jobs.cancel(job.jobId(), "cancelled by the caller");
        } catch (JobEndedException e) {
            throw ApiException.openAi(409, "invalid_request_error", e.getMessage(), "fine_tuning_job_id", "job_not_cancellable");
        }
        if (runner.isResolvable() && runner.get() instanceof KubernetesRunner k && cancelled.runner() != null
                && cancelled.runner().startsWith(KubernetesRunner.RUNNER_PREFIX)) {
            k.stop(cancelled.jobId());
        }
        return json.job(cancelled);
    }

    private static ApiException cannotCancel(TrainingJobEvent job) {
        return ApiException.openAi(409, "invalid_request_error", "job " + job.jobId() + " has already "
                + job.state().name().toLowerCase(java.util.Locale.ROOT) + "; only a validating, queued or running job can be cancelled",
                "fine_tuning_job_id", "job_not_cancellable");
    }

    private JsonObject events(RoutingContext ctx) {
        List<JobLogEvent> newestFirst = new ArrayList<>(job(ctx).events());
        Collections.reverse(newestFirst);
        return page(ctx, newestFirst, JobLogEvent::id, JobJson::event, "event");
    }

    private JsonObject checkpoints(RoutingContext ctx) {
        JsonObject page = page(ctx, JobJson.checkpoints(job(ctx)), c -> c.getString("id"), Function.identity(), "checkpoint");
        JsonArray data = page.getJsonArray("data");
        return page.put("first_id", data.isEmpty() ? null : data.getJsonObject(0).getString("id"))
                .put("last_id", data.isEmpty() ? null : data.getJsonObject(data.size() - 1).getString("id"));
    }

    private TrainingJobEvent job(RoutingContext ctx) {
        return job(ApiKeys.caller(ctx), ctx.pathParam("id"));
    }

    private TrainingJobEvent job(Caller caller, String id) {
        return jobs.get(id).filter(j -> caller.mayAccess(j.tenant()))
                .orElseThrow(() -> ApiException.openAi(404, "invalid_request_error", "no fine-tuning job " + id, "id", "not_found"));
    }

    private JsonObject page(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        String after = ctx.queryParams().get("after");
        if (after != null) {
            job(caller, after); // 404 unless the caller may see it
        }
        return page(ctx, jobs.list(caller::mayAccess), TrainingJobEvent::jobId, json::job, "job");
    }

    /**
     * One page of {@code items} (in list order) after the item whose id is {@code after}: by id, as
     * an item's place in the order does not change between pages.
     */
    private static <T> JsonObject page(RoutingContext ctx, List<T> items, Function<T, String> id, Function<T, JsonObject> render, String what) {
        int limit = limit(ctx.queryParams().get("limit"));
        int from = 0;
        String after = ctx.queryParams().get("after");
        if (after != null) {
            int at = items.stream().map(id).toList().indexOf(after);
            if (at < 0) {
                throw ApiException.openAi(404, "invalid_request_error", "no " + what + " " + after, "after", "not_found");
            }
            from = at + 1;
        }
        JsonArray data = new JsonArray();
        items.subList(Math.min(from, items.size()), Math.min(from + limit, items.size())).forEach(i -> data.add(render.apply(i)));
        return new JsonObject().put("object", "list").put("data", data).put("has_more", from + limit < items.size());
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

    /** Runs {@code work} off the event loop (reading the view may throw while it rebuilds) and answers 200 with its JSON. */
    private void respond(RoutingContext ctx, Supplier<JsonObject> work) {
        ctx.vertx().executeBlocking(work::get, false)
                .onSuccess(body -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode()))
                .onFailure(e -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }
}
