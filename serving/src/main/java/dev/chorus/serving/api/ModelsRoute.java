package dev.chorus.serving.api;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.auth.UnauthenticatedException;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.engine.adapter.AdapterCatalog;
import dev.chorus.serving.model.ModelService;
import dev.chorus.serving.model.ServedModel;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.List;

/**
 * GET /v1/models: the base model and the caller's adapters (parent = the base), so OpenAI clients
 * can discover the names to send. Operators see every tenant's adapters as tenant/name.
 */
@ApplicationScoped
public class ModelsRoute {
    private final ModelService models;
    private final ApiKeys keys;
    private final ErrorMapper errors;
    private final long startedAt = Instant.now().getEpochSecond();

    public ModelsRoute(ModelService models, ApiKeys keys, ErrorMapper errors) {
        this.models = models;
        this.keys = keys;
        this.errors = errors;
    }

    void init(@Observes Router router) {
        router.get("/v1/models").handler(this::list);
    }

    private void list(RoutingContext ctx) {
        Caller caller;
        try {
            caller = keys.authenticate(ctx);
        } catch (UnauthenticatedException e) {
            errors.send(ctx.response(), e);
            return;
        }
        // Listing reads the adapter directory: off the event loop.
        ctx.vertx().executeBlocking(() -> models.served().map(served -> listing(served, caller)).orElseGet(JsonArray::new), false)
                .onSuccess(data -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .end(new JsonObject().put("object", "list").put("data", data).encode()))
                .onFailure(error -> errors.send(ctx.response(), error));
    }

    private JsonArray listing(ServedModel served, Caller caller) {
        JsonArray data = new JsonArray().add(new JsonObject()
                .put("id", served.name())
                .put("object", "model")
                .put("created", startedAt)
                .put("owned_by", "chorus")
                .put("max_model_len", served.engine().contextLength()));
        List<String> tenants = caller.admin() ? keys.tenants() : List.of(caller.tenant());
        for (String tenant : tenants) {
            for (AdapterCatalog.Listing adapter : served.adapters().adapters(tenant)) {
                String id = (caller.admin() ? tenant + "/" : "") + adapter.name();
                data.add(new JsonObject()
                        .put("id", id)
                        .put("object", "model")
                        .put("created", startedAt)
                        .put("owned_by", tenant)
                        .put("parent", served.name())
                        .put("root", id + "@" + adapter.active())
                        .put("active_version", adapter.active())
                        .put("versions", new JsonArray(adapter.versions()))
                        .put("max_model_len", served.engine().contextLength()));
            }
        }
        return data;
    }
}
