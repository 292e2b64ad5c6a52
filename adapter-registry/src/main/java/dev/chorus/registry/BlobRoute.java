package dev.chorus.registry;

import dev.chorus.edge.auth.Caller;
import dev.chorus.edge.http.ApiException;
import dev.chorus.edge.http.ErrorMapper;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GET/HEAD /v1/blobs/{sha256}: immutable content, so ETag = the sha256 and clients may cache it
 * forever; single byte ranges are served for resumable downloads. The bytes are re-hashed before
 * every answer: a damaged blob is withdrawn, never sent.
 */
@ApplicationScoped
public class BlobRoute {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    private final Registry registry;
    private final ErrorMapper errors;

    public BlobRoute(Registry registry, ErrorMapper errors) {
        this.registry = registry;
        this.errors = errors;
    }

    void serve(RoutingContext ctx, Caller caller) {
        HttpMethod method = ctx.request().method();
        if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
            ErrorMapper.send(ctx.response(), ApiException.of(405, "method_not_allowed", "blobs are read-only: GET or HEAD"));
            return;
        }
        String sha = ctx.pathParam("sha256");
        if (!BlobStore.isSha256(sha)) {
            ErrorMapper.send(ctx.response(), ApiException.of(400, "invalid_request", "a blob is named by its sha256: 64 lowercase hex digits"));
            return;
        }
        ctx.vertx().executeBlocking(() -> {
            // Another tenant's blob is answered exactly like a missing one.
            if (!registry.catalogue().references(caller.admin() ? null : caller.tenant(), sha)) {
                throw new BlobNotFoundException(sha);
            }
            return registry.blobs().verified(sha);
        }, false).onComplete(result -> {
            if (result.failed()) {
                errors.send(ctx.response(), result.cause());
            } else {
                send(ctx, sha, result.result(), method == HttpMethod.HEAD);
            }
        });
    }

    private static void send(RoutingContext ctx, String sha, Path file, boolean headOnly) {
        long size = file.toFile().length();
        String etag = "\"" + sha + "\"";
        var response = ctx.response()
                .putHeader(HttpHeaders.ETAG, etag)
                .putHeader(HttpHeaders.CACHE_CONTROL, "public, max-age=31536000, immutable")
                .putHeader(HttpHeaders.ACCEPT_RANGES, "bytes")
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/zip");
        if (etag.equals(ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH))) {
            response.setStatusCode(304).end();
            return;
        }
        long start = 0;
        long end = size - 1;
        String range = ctx.request().getHeader("Range");
        if (range != null) {
            Matcher m = RANGE.matcher(range.trim());
            boolean valid = m.matches() && !(m.group(1).isEmpty() && m.group(2).isEmpty());
            if (valid) {
                if (m.group(1).isEmpty()) { // suffix: the last n bytes
                    start = Math.max(0, size - Long.parseLong(m.group(2)));
                } else {
                    start = Long.parseLong(m.group(1));
                    end = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
                }
                valid = start <= end && start < size;
            }
            if (!valid) {
                response.putHeader(HttpHeaders.CONTENT_RANGE, "bytes */" + size);
                ErrorMapper.send(ctx.response(), ApiException.of(416, "range_not_satisfiable",
                        "range '" + range + "' does not fit a blob of " + size + " bytes"));
                return;
            }
            response.setStatusCode(206).putHeader(HttpHeaders.CONTENT_RANGE, "bytes " + start + "-" + end + "/" + size);
        }
        long length = end - start + 1;
        if (headOnly) {
            response.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(length)).end();
        } else {
            response.sendFile(file.toString(), start, length);
        }
    }
}
