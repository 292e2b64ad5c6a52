package dev.chorus.training;

import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * OpenAI's Files API for fine-tuning: POST /v1/files (multipart {@code file}, {@code purpose=fine-tune};
 * the content is checked line by line before anything is stored), GET /v1/files[?purpose=&limit=],
 * GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}. A tenant sees only its own
 * files: another tenant's id is the same 404 as an unknown one; operators see all and cannot upload
 * (a file belongs to a tenant).
 */
@ApplicationScoped
public class FileRoutes {
    private static final String FILES = "/v1/files";
    private static final String PURPOSE = "fine-tune";

    private final FileStore store;
    private final ErrorMapper errors;
    private final ApiKeys keys;
    private final long maxBytes;
    private final Path uploads;

    public FileRoutes(FileStore store, ErrorMapper errors, ApiKeys keys, TrainingConfig config, DataDirectory data) {
        this.store = store;
        this.errors = errors;
        this.keys = keys;
        this.maxBytes = config.files().maxBytes();
        this.uploads = data.root().resolve("files").resolve("uploads");
    }

    void init(@Observes Router router) {
        BodyHandler body = BodyHandler.create(uploads.toString()).setBodyLimit(maxBytes).setDeleteUploadedFilesOnEnd(true);
        router.post(FILES).handler(keys.authenticateThen(body, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e))))
                .handler(ctx -> respond(ctx, () -> json(upload(ctx)))).failureHandler(this::failed);
        router.get(FILES).handler(authenticated()).handler(ctx -> respond(ctx, () -> list(ctx)));
        router.get(FILES + "/:id").handler(authenticated()).handler(ctx -> respond(ctx, () -> json(file(ctx))));
        router.get(FILES + "/:id/content").handler(authenticated()).handler(this::content);
        router.delete(FILES + "/:id").handler(authenticated()).handler(ctx -> respond(ctx, () -> {
            TrainingFile f = file(ctx);
            store.delete(f);
            return new JsonObject().put("id", f.id()).put("object", "file").put("deleted", true);
        }));
    }

    private io.vertx.core.Handler<RoutingContext> authenticated() {
        return keys.authenticateThen(null, (ctx, e) -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }

    private TrainingFile upload(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        if (caller.tenant() == null) {
            throw ApiException.openAi(400, "invalid_request_error", "a file belongs to a tenant: upload it with the tenant's key", null,
                    "tenant_key_required");
        }
        String purpose = ctx.request().getFormAttribute("purpose");
        if (!PURPOSE.equals(purpose)) {
            throw ApiException.openAi(400, "invalid_request_error", "purpose must be fine-tune", "purpose", "invalid_purpose");
        }
        List<FileUpload> files = ctx.fileUploads().stream().filter(f -> f.name().equals("file")).toList();
        if (files.size() != 1) {
            throw ApiException.openAi(400, "invalid_request_error", "send exactly one multipart part named file", "file", "missing_file");
        }
        FileUpload f = files.get(0);
        byte[] content;
        try {
            content = Files.readAllBytes(Path.of(f.uploadedFileName()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String name = f.fileName() == null || f.fileName().isBlank() ? "upload.jsonl" : f.fileName();
        return store.add(caller.tenant(), name.length() > 256 ? name.substring(0, 256) : name, purpose, content);
    }

    private JsonObject list(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        String purpose = ctx.queryParams().get("purpose");
        int limit = JobRoutes.limit(ctx.queryParams().get("limit"));
        JsonArray data = new JsonArray();
        store.list(caller::mayAccess).stream().filter(f -> purpose == null || purpose.equals(f.purpose())).limit(limit)
                .forEach(f -> data.add(json(f)));
        return new JsonObject().put("object", "list").put("data", data);
    }

    private TrainingFile file(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        return store.get(id).filter(f -> ApiKeys.caller(ctx).mayAccess(f.tenant()))
                .orElseThrow(() -> ApiException.openAi(404, "invalid_request_error", "no file " + id, "id", "not_found"));
    }

    private void content(RoutingContext ctx) {
        ctx.vertx().executeBlocking(() -> store.content(file(ctx)), false)
                .onSuccess(bytes -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/jsonl").end(Buffer.buffer(bytes)))
                .onFailure(e -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }

    static JsonObject json(TrainingFile f) {
        return new JsonObject().put("id", f.id()).put("object", "file").put("bytes", f.bytes())
                .put("created_at", f.createdAt().getEpochSecond()).put("filename", f.filename()).put("purpose", f.purpose())
                .put("chorus", new JsonObject().put("tenant", f.tenant()).put("sha256", f.sha256())
                        .put("kind", f.kind().name().toLowerCase(java.util.Locale.ROOT)).put("examples", f.examples()));
    }

    /** A body beyond the limit (or another failure before the handler) still gets a JSON error. */
    private void failed(RoutingContext ctx) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return; // answered already (the 413), or the client went away mid-upload: nobody to tell
        }
        if (ctx.statusCode() == 413) {
            ErrorMapper.send(ctx.response(), ApiException.openAi(413, "invalid_request_error", "the file exceeds " + maxBytes + " bytes",
                    "file", "file_too_large"));
        } else {
            ErrorMapper.send(ctx.response(), errors.toApi(ctx.failure() != null ? ctx.failure() : new IllegalStateException("status "
                    + ctx.statusCode())));
        }
    }

    private void respond(RoutingContext ctx, Callable<JsonObject> work) {
        ctx.vertx().executeBlocking(work, false)
                .onSuccess(json -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.encode()))
                .onFailure(e -> ErrorMapper.send(ctx.response(), errors.toApi(e)));
    }
}
