package dev.chorus.registry;

import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.Names;
import dev.chorus.edge.auth.ApiKeys;
import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.EdgeRoutes;
import dev.chorus.edge.http.ErrorMapper;
import dev.chorus.edge.http.JsonBodies;
import dev.chorus.edge.http.RequestRejectedException;
import dev.chorus.edge.http.TenantGate;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
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
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.jboss.logging.Logger;

/**
 * The registry's REST API. Every route authenticates first; a tenant reaches only its own
 * /v1/tenants/{t}/… (403 otherwise) and only blobs its own versions use (404 otherwise); operators
 * reach everything. Work that blocks (validation, disk, Kafka) runs off the event loop.
 */
@ApplicationScoped
public class RegistryRoutes {
    private static final Logger LOG = Logger.getLogger(RegistryRoutes.class);
    private static final String ADAPTER = "/v1/tenants/:tenant/adapters/:name";

    private static final long SMALL_BODY_BYTES = 64 * 1024;
    private static final Set<String> MERGED_TYPES = Set.of("application/zip", "application/x-zip-compressed", "application/octet-stream");
    private static final Set<String> UPLOAD_TYPES = Set.of("application/zip", "application/x-zip-compressed", "application/octet-stream",
            "multipart/form-data");

    private final Registry registry;
    private final ApiKeys keys;
    private final BlobRoute blobs;
    private final ErrorMapper errors;
    private final EdgeRoutes edge;

    public RegistryRoutes(Registry registry, ApiKeys keys, BlobRoute blobs, ErrorMapper errors, EdgeRoutes edge) {
        this.registry = registry;
        this.keys = keys;
        this.blobs = blobs;
        this.errors = errors;
        this.edge = edge;
    }

    void init(@Observes Router router) {
        BodyHandler uploadBody = BodyHandler.create(true).setBodyLimit(registry.maxUploadBytes()).setDeleteUploadedFilesOnEnd(true);
        BodyHandler smallBody = BodyHandler.create(false).setBodyLimit(SMALL_BODY_BYTES);
        Handler<RoutingContext> authenticated = keys.authenticateThen(null, this::rejected);
        // The path's tenant and the content type are checked before a byte of the body is read.
        // One upload per tenant reads its body at a time (a few more wait): bodies are held in memory. The
        // share is the path's tenant's, so an operator uploading for many tenants is not held to one.
        TenantGate uploadsPerTenant = new TenantGate(1, 8);
        ApiKeys.Admission admitUpload = (ctx, caller, proceed) -> {
            admitUpload(ctx, caller);
            uploadsPerTenant.admission().admit(ctx, Caller.tenant(ctx.pathParam("tenant")), proceed);
        };
        router.put(ADAPTER).handler(keys.authenticateThen(admitUpload, uploadBody, this::rejected)).handler(this::upload)
                .failureHandler(edge.failures(registry.maxUploadBytes()));
        // A version's merged model: operators only (the training service attaches what it merged), body as uploads.
        BodyHandler mergedBody = BodyHandler.create(false).setBodyLimit(registry.maxMergedBytes());
        ApiKeys.Admission admitMerged = (ctx, caller, proceed) -> {
            admitMerged(ctx, caller);
            uploadsPerTenant.admission().admit(ctx, Caller.tenant(ctx.pathParam("tenant")), proceed);
        };
        router.put(ADAPTER + "/versions/:version/merged").handler(keys.authenticateThen(admitMerged, mergedBody, this::rejected))
                .handler(this::attachMerged).failureHandler(edge.failures(registry.maxMergedBytes()));
        router.post(ADAPTER + "/promote").handler(keys.authenticateThen(ApiKeys.Admission.checking(RegistryRoutes::admitPathOnly), smallBody, this::rejected))
                .handler(this::promote).failureHandler(edge.failures(SMALL_BODY_BYTES));
        router.get("/v1/tenants/:tenant/adapters").handler(authenticated).handler(this::list);
        router.get(ADAPTER).handler(authenticated).handler(this::manifest);
        router.get(ADAPTER + "/versions").handler(authenticated).handler(this::versions);
        router.get(ADAPTER + "/versions/:version").handler(authenticated).handler(this::version);
        router.delete(ADAPTER + "/versions/:version").handler(authenticated).handler(this::deleteVersion);
        router.delete(ADAPTER).handler(authenticated).handler(this::deleteAdapter);
        router.get("/v1/adapters").handler(authenticated).handler(this::listAll);
        router.route("/v1/blobs/:sha256").handler(authenticated).handler(ctx -> blobs.serve(ctx, ApiKeys.caller(ctx)));
    }

    private void upload(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        if (tenant == null || name == null) {
            return;
        }
        boolean promote = "true".equals(ctx.request().getParam("promote"));
        String provenance = ctx.request().getHeader(ProvenanceJson.HEADER);
        if (provenance != null && !ApiKeys.caller(ctx).admin()) {
            ErrorMapper.send(ctx.response(), ApiException.of(403, "forbidden", "only an operator key records a version's provenance"));
            return;
        }
        respond(ctx, 201, () -> {
            AdapterManifest.Provenance p = provenance == null ? null : ProvenanceJson.parse(provenance);
            AdapterUpload.Validated upload = registry.validating(() -> validated(ctx));
            return ManifestJson.of(registry.catalogue().addVersion(tenant, name, upload, promote, p), damaged());
        });
    }

    private void attachMerged(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        Integer v = tenant == null || name == null ? null : versionParam(ctx);
        if (v == null) {
            return;
        }
        String claimedBase = ctx.request().getParam("base_fingerprint");
        if (ctx.body().buffer() == null || ctx.body().length() == 0) {
            ErrorMapper.send(ctx.response(), ApiException.of(400, "invalid_request", "send the merged checkpoint's directory as a zip body"));
            return;
        }
        respond(ctx, 200, () -> {
            MergedUpload.Validated merged = registry.validating(() -> registry.mergedUploads().validate(ctx.body().buffer().getBytes(), claimedBase));
            AdapterManifest m = registry.catalogue().attachMerged(tenant, name, v, merged);
            return ManifestJson.version(m.version(v).orElseThrow(() -> new UnknownAdapterException("version " + v + " of adapter " + name)),
                    m.activeVersion(), damaged());
        });
    }

    private AdapterUpload.Validated validated(RoutingContext ctx) {
        if (!ctx.fileUploads().isEmpty()) {
            byte[] config = null;
            byte[] weights = null;
            for (FileUpload f : ctx.fileUploads()) {
                String label = f.fileName() == null || f.fileName().isEmpty() ? f.name() : f.fileName();
                if (label.endsWith("adapter_config.json") || f.name().equals("config")) {
                    config = read(f);
                } else if (label.endsWith("adapter_model.safetensors") || f.name().equals("weights")) {
                    weights = read(f);
                }
            }
            return registry.uploads().fromFiles(config, weights);
        }
        if (ctx.body().buffer() == null || ctx.body().length() == 0) {
            throw ApiException.of(400, "invalid_request", "send the adapter as a zip body or as multipart with adapter_config.json and "
                    + "adapter_model.safetensors");
        }
        return registry.uploads().fromZip(ctx.body().buffer().getBytes());
    }

    private static byte[] read(FileUpload f) {
        try {
            return Files.readAllBytes(Path.of(f.uploadedFileName()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void promote(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        if (tenant == null || name == null) {
            return;
        }
        int v;
        try {
            Long version = JsonBodies.integer(JsonBodies.object(ctx.body().buffer()), "version", 1, Integer.MAX_VALUE);
            if (version == null) {
                throw new RequestRejectedException(RequestRejectedException.Reason.INVALID_BODY, "the body must be {\"version\": N} with N >= 1");
            }
            v = version.intValue();
        } catch (RequestRejectedException e) {
            errors.send(ctx.response(), e);
            return;
        }
        respond(ctx, 200, () -> ManifestJson.of(registry.catalogue().promote(tenant, name, v), damaged()));
    }

    private void list(RoutingContext ctx) {
        String tenant = tenant(ctx);
        if (tenant != null) {
            respond(ctx, 200, () -> ManifestJson.list(registry.catalogue().list(tenant), damaged()));
        }
    }

    private void listAll(RoutingContext ctx) {
        Caller caller = ApiKeys.caller(ctx);
        if (!caller.admin()) {
            ErrorMapper.send(ctx.response(), ApiException.of(403, "forbidden", "listing every tenant's adapters needs an operator key"));
            return;
        }
        respond(ctx, 200, () -> ManifestJson.list(registry.catalogue().list(null), damaged()));
    }

    private void manifest(RoutingContext ctx) {
        withAdapter(ctx, m -> ManifestJson.of(m, damaged()));
    }

    private void versions(RoutingContext ctx) {
        withAdapter(ctx, m -> new JsonObject().put("versions", ManifestJson.versions(m, damaged())));
    }

    private void version(RoutingContext ctx) {
        Integer v = versionParam(ctx);
        if (v != null) {
            withAdapter(ctx, m -> m.version(v).map(x -> ManifestJson.version(x, m.activeVersion(), damaged()))
                    .orElseThrow(() -> new UnknownAdapterException("version " + v + " of adapter " + m.name())));
        }
    }

    private void deleteVersion(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        Integer v = tenant == null || name == null ? null : versionParam(ctx);
        if (v != null) {
            respond(ctx, 200, () -> ManifestJson.of(registry.catalogue().deleteVersion(tenant, name, v), damaged()));
        }
    }

    private void deleteAdapter(RoutingContext ctx) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        if (tenant != null && name != null) {
            respond(ctx, 204, () -> {
                registry.catalogue().deleteAdapter(tenant, name);
                return null;
            });
        }
    }

    private void withAdapter(RoutingContext ctx, java.util.function.Function<AdapterManifest, JsonObject> view) {
        String tenant = tenant(ctx);
        String name = name(ctx);
        if (tenant != null && name != null) {
            respond(ctx, 200, () -> view.apply(registry.catalogue().live(tenant, name)
                    .orElseThrow(() -> new UnknownAdapterException("adapter " + name))));
        }
    }

    /** Before an upload's body is read: the caller may write to the path's adapter, and sends a zip or multipart form. */
    private static void admitUpload(RoutingContext ctx, Caller caller) {
        admitPathOnly(ctx, caller);
        String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        String mediaType = type == null ? null : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (mediaType != null && !mediaType.isEmpty() && !UPLOAD_TYPES.contains(mediaType)) {
            throw new RequestRejectedException(RequestRejectedException.Reason.UNSUPPORTED_MEDIA_TYPE, "send the adapter as application/zip or "
                    + "as multipart/form-data with adapter_config.json and adapter_model.safetensors, not " + mediaType);
        }
    }

    /** Before a merged model's body is read: an operator key, a version number, and a zip. */
    private static void admitMerged(RoutingContext ctx, Caller caller) {
        admitPathOnly(ctx, caller);
        if (!caller.admin()) {
            throw ApiException.of(403, "forbidden", "only an operator key attaches a version's merged model");
        }
        if (!ctx.pathParam("version").matches("[1-9][0-9]{0,9}")) {
            throw ApiException.of(400, "invalid_request", "version must be a positive integer");
        }
        String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        String mediaType = type == null ? null : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (mediaType != null && !mediaType.isEmpty() && !MERGED_TYPES.contains(mediaType)) {
            throw new RequestRejectedException(RequestRejectedException.Reason.UNSUPPORTED_MEDIA_TYPE,
                    "send the merged checkpoint's directory as application/zip, not " + mediaType);
        }
    }

    private static void admitPathOnly(RoutingContext ctx, Caller caller) {
        String tenant = ctx.pathParam("tenant");
        if (!Names.valid(tenant) || !Names.valid(ctx.pathParam("name"))) {
            throw ApiException.of(400, "invalid_request", "tenant and adapter names are 1-128 letters, digits, '.', '_' or '-'");
        }
        if (!caller.mayAccess(tenant)) {
            throw ApiException.of(403, "forbidden", "this key cannot act for tenant " + tenant);
        }
    }

    /** The path's tenant when the caller may act for it; otherwise answers (400/403) and returns null. */
    private static String tenant(RoutingContext ctx) {
        String tenant = ctx.pathParam("tenant");
        Caller caller = ApiKeys.caller(ctx);
        if (!Names.valid(tenant)) {
            ErrorMapper.send(ctx.response(), ApiException.of(400, "invalid_request", "invalid tenant name"));
            return null;
        }
        if (!caller.mayAccess(tenant)) {
            ErrorMapper.send(ctx.response(), ApiException.of(403, "forbidden", "this key cannot act for tenant " + tenant));
            return null;
        }
        return tenant;
    }

    private static String name(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        if (!Names.valid(name)) {
            ErrorMapper.send(ctx.response(), ApiException.of(400, "invalid_request", "adapter names are 1-128 letters, digits, '.', '_' or '-'"));
            return null;
        }
        return name;
    }

    private static Integer versionParam(RoutingContext ctx) {
        String text = ctx.pathParam("version");
        try {
            int v = Integer.parseInt(text);
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        ErrorMapper.send(ctx.response(), ApiException.of(400, "invalid_request", "version must be a positive integer"));
        return null;
    }

    private Set<String> damaged() {
        return registry.blobs().damaged();
    }

    private void respond(RoutingContext ctx, int status, Callable<JsonObject> work) {
        ctx.vertx().executeBlocking(work, false).onComplete(result -> {
            if (result.succeeded()) {
                JsonObject body = result.result();
                ctx.response().setStatusCode(status);
                if (body == null) {
                    ctx.response().end();
                } else {
                    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
                }
            } else {
                errors.send(ctx.response(), result.cause());
            }
        });
    }

    /** A request without a valid key, or one refused before its body was read. */
    private void rejected(RoutingContext ctx, Throwable error) {
        errors.send(ctx.response(), error);
    }
}
