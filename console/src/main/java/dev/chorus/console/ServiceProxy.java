package dev.chorus.console;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The backend-for-frontend: /api/{serving,registry,training}/… is forwarded to that service's /v1/…
 * with the caller's own Authorization header, so the page talks to one origin (no CORS) and the
 * console holds no key of its own. The services authenticate and enforce tenancy; bodies stream
 * both ways (uploads, server-sent events). Headers are forwarded from an allow-list, and the key is
 * never logged.
 */
@ApplicationScoped
public class ServiceProxy {
    private static final Logger LOG = Logger.getLogger(ServiceProxy.class);
    private static final List<CharSequence> REQUEST_HEADERS = List.of(HttpHeaders.AUTHORIZATION, HttpHeaders.CONTENT_TYPE,
            HttpHeaders.CONTENT_LENGTH, HttpHeaders.ACCEPT);
    private static final List<CharSequence> RESPONSE_HEADERS = List.of(HttpHeaders.CONTENT_TYPE, HttpHeaders.CONTENT_LENGTH,
            HttpHeaders.RETRY_AFTER, HttpHeaders.CACHE_CONTROL, HttpHeaders.ETAG, HttpHeaders.CONTENT_DISPOSITION);
    private static final Set<HttpMethod> BODILESS = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.DELETE, HttpMethod.OPTIONS);

    private final Map<String, URI> upstreams;
    private final ConsoleConfig config;
    private HttpClient client;

    public ServiceProxy(ConsoleConfig config) {
        this.config = config;
        this.upstreams = Map.of("serving", config.servingUrl(), "registry", config.registryUrl(), "training", config.trainingUrl());
    }

    void init(@Observes Router router, Vertx vertx) {
        // A connection per call: a pooled one the service has closed meanwhile (it may, after an error answer) would fail
        // the next call with a 502; a console's traffic is light enough not to need reuse.
        client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) config.connectTimeout().toMillis())
                .setIdleTimeout((int) config.idleTimeout().toSeconds()).setMaxPoolSize(64).setKeepAlive(false));
        upstreams.forEach((name, base) -> router.route("/api/" + name + "/*").handler(ctx -> forward(ctx, name, base)));
    }

    private void forward(RoutingContext ctx, String name, URI base) {
        HttpServerRequest in = ctx.request();
        String prefix = "/api/" + name + "/";
        String path = ctx.normalizedPath();
        if (!path.startsWith(prefix) || path.length() == prefix.length()) {
            fail(ctx.response(), 404, "not_found", "no such API path");
            return;
        }
        String target = base.toString().replaceAll("/+$", "") + "/v1/" + path.substring(prefix.length())
                + (in.query() == null ? "" : "?" + in.query());
        in.pause();
        MultiMap headers = HttpHeaders.headers();
        copy(in.headers(), headers, REQUEST_HEADERS);
        RequestOptions options = new RequestOptions().setMethod(in.method()).setAbsoluteURI(target).setHeaders(headers);
        client.request(options)
                .compose(out -> BODILESS.contains(in.method()) ? out.send() : out.send(in))
                .onSuccess(response -> relay(ctx, response))
                .onFailure(e -> {
                    LOG.warnf("%s %s: %s unreachable: %s", in.method(), path, name, e.toString());
                    fail(ctx.response(), 502, "bad_gateway", name + " is unreachable: " + e.getMessage());
                });
    }

    private static void relay(RoutingContext ctx, HttpClientResponse response) {
        HttpServerResponse out = ctx.response();
        if (out.closed()) {
            response.request().reset();
            return;
        }
        out.setStatusCode(response.statusCode());
        copy(response.headers(), out.headers(), RESPONSE_HEADERS);
        if (!response.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
            out.setChunked(true);
        }
        // The browser went away (a stream the user stopped): the service sees its connection close too.
        out.closeHandler(ignored -> response.request().reset());
        response.pipeTo(out);
    }

    private static void copy(MultiMap from, MultiMap to, List<CharSequence> names) {
        for (CharSequence header : names) {
            String value = from.get(header);
            if (value != null) {
                to.set(header, value);
            }
        }
    }

    private static void fail(HttpServerResponse response, int status, String code, String message) {
        if (response.headWritten()) {
            response.reset();
            return;
        }
        response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type", code).put("code", code)).encode());
    }
}
