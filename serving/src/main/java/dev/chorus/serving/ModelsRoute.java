package dev.chorus.serving;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;

/** GET /v1/models: the served base model, so OpenAI clients can discover the name to send. */
@ApplicationScoped
public class ModelsRoute {
    private final ModelService models;
    private final long startedAt = Instant.now().getEpochSecond();

    public ModelsRoute(ModelService models) {
        this.models = models;
    }

    void init(@Observes Router router) {
        router.get("/v1/models").handler(this::list);
    }

    private void list(RoutingContext ctx) {
        JsonArray data = new JsonArray();
        models.served().ifPresent(served -> data.add(new JsonObject()
                .put("id", served.name())
                .put("object", "model")
                .put("created", startedAt)
                .put("owned_by", "chorus")
                .put("max_model_len", served.engine().contextLength())));
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(new JsonObject().put("object", "list").put("data", data).encode());
    }
}
