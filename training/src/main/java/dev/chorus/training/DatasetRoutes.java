package dev.chorus.training;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.Names;
import dev.chorus.kafka.TrainingExample;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * GET and DELETE /v1/tenants/{t}/adapters/{name}/examples: an adapter's dataset (its examples,
 * held-out flags and counts) and its erasure. A tenant sees only its own datasets: another tenant's
 * path is 404, whether it has data or not; operators see all. {@code _base} names the examples from
 * feedback on the base model.
 */
@ApplicationScoped
public class DatasetRoutes {
    private static final String EXAMPLES = "/v1/tenants/:tenant/adapters/:name/examples";

    private final Datasets datasets;
    private final Erasures erasures;
    private final ErrorMapper errors;
    private final ApiKeys keys;

    public DatasetRoutes(Datasets datasets, Erasures erasures, ErrorMapper errors, ApiKeys keys) {
        this.datasets = datasets;
        this.erasures = erasures;
        this.errors = errors;
        this.keys = keys;
    }

    void init(@Observes Router router) {
        router.get(EXAMPLES).handler(keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e))))
                .handler(ctx -> respond(ctx, () -> dataset(ctx)));
        router.delete(EXAMPLES).handler(keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e))))
                .handler(ctx -> respond(ctx, () -> new JsonObject().put("erased", erasures.erase(tenant(ctx), adapter(ctx)))));
    }

    private JsonObject dataset(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String adapter = adapter(ctx);
        JsonObject body = new JsonObject().put("tenant", tenant).put("adapter", adapter);
        Dataset dataset = datasets.of(tenant, adapter).orElse(null);
        if (dataset == null) {
            return body.put("counts", counts(new Dataset(tenant, adapter).counts())).put("data", new JsonArray());
        }
        JsonArray data = new JsonArray();
        for (TrainingExample x : dataset.examples()) {
            data.add(json(x));
        }
        return body.put("counts", counts(dataset.counts())).put("data", data);
    }

    private static JsonObject counts(Dataset.Counts c) {
        JsonObject json = new JsonObject().put("total", c.total()).put("held_out", c.heldOut())
                .put("preference_pairs", c.preferencePairs()).put("new_since_training", c.newSinceTraining());
        for (Map.Entry<TrainingExample.Kind, Integer> e : c.byKind().entrySet()) {
            json.put(e.getKey().name().toLowerCase(Locale.ROOT), e.getValue());
        }
        return json;
    }

    private static JsonObject json(TrainingExample x) {
        JsonObject json = new JsonObject().put("event_id", x.eventId()).put("kind", x.kind().name().toLowerCase(Locale.ROOT))
                .put("held_out", x.heldOut()).put("adapter_version", x.adapterVersion()).put("created_at", x.createdAt().toString());
        if (x.prompt() != null) {
            json.put("prompt", x.prompt());
        } else {
            JsonArray messages = new JsonArray();
            for (FeedbackEvent.Message m : x.messages()) {
                messages.add(new JsonObject().put("role", m.role()).put("content", m.content()));
            }
            json.put("messages", messages);
        }
        return json.put("chosen", x.chosen()).put("rejected", x.rejected());
    }

    /** The path's tenant, if the caller may see it: anything else is the same 404. */
    private static String tenant(RoutingContext ctx) {
        String tenant = ctx.pathParam("tenant");
        Caller caller = ApiKeys.caller(ctx);
        if (!Names.valid(tenant) || !caller.mayAccess(tenant)) {
            throw ApiException.of(404, "not_found", "no such tenant, or not yours");
        }
        return tenant;
    }

    private static String adapter(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        if (!Names.valid(name) && !TrainingExample.BASE.equals(name)) {
            throw ApiException.of(400, "invalid_name", "name: an adapter name (letters, digits, '.', '_' or '-') or " + TrainingExample.BASE);
        }
        return name;
    }

    /** Runs {@code work} off the event loop (it may wait on Kafka) and answers 200 with its JSON, or the mapped error. */
    private void respond(RoutingContext ctx, Callable<JsonObject> work) {
        ctx.vertx().executeBlocking(work, false)
                .onSuccess(json -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.encode()))
                .onFailure(e -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }
}
