package dev.chorus.console;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP server standing in for serving and the registry: it echoes what it received (method,
 * path, query, the headers that matter, body) as JSON, or streams three server-sent events on
 * /v1/chat/completions. Training points at a port nobody listens on.
 */
public class FakeServices implements QuarkusTestResourceLifecycleManager {
    private Vertx vertx;

    @Override
    public Map<String, String> start() {
        vertx = Vertx.vertx();
        HttpServer server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
            if (req.path().equals("/v1/chat/completions")) {
                req.response().setChunked(true).putHeader("Content-Type", "text/event-stream");
                for (int i = 0; i < 3; i++) {
                    req.response().write("data: {\"n\": " + i + "}\n\n");
                }
                req.response().end("data: [DONE]\n\n");
                return;
            }
            JsonObject echo = new JsonObject().put("method", req.method().name()).put("path", req.path()).put("query", req.query())
                    .put("authorization", req.getHeader("Authorization")).put("cookie", req.getHeader("Cookie"))
                    .put("x_forwarded", req.getHeader("X-Custom")).put("body", body.toString());
            req.response().setStatusCode(req.path().endsWith("/missing") ? 404 : 200).putHeader("Content-Type", "application/json")
                    .putHeader("Retry-After", "3").putHeader("Set-Cookie", "nope=1").end(echo.encode());
        }));
        try {
            server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        String url = "http://127.0.0.1:" + server.actualPort();
        return Map.of("chorus.console.serving-url", url, "chorus.console.registry-url", url + "/",
                "chorus.console.training-url", "http://127.0.0.1:" + unusedPort());
    }

    private static int unusedPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        if (vertx != null) {
            vertx.close();
        }
    }
}
