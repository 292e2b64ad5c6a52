package dev.chorus.serving;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** One streaming completion read as it arrives, on its own thread: first-chunk latch, text, finish time. */
final class SseClient {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** One reader thread per stream: the common pool may have a single thread, which would read streams one after another. */
    private static final java.util.concurrent.ExecutorService READERS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sse-reader");
        t.setDaemon(true);
        return t;
    });

    private final CountDownLatch firstChunk = new CountDownLatch(1);
    private final StringBuilder text = new StringBuilder();
    private final CompletableFuture<Void> done;
    private volatile String model;
    private volatile String error;
    private volatile long finishedNanos;

    SseClient(URI endpoint, String authorization, String body) {
        HttpRequest request = HttpRequest.newBuilder(endpoint)
                .header("Authorization", authorization)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        done = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                .thenAcceptAsync(response -> read(response.statusCode(), response.body()), READERS);
    }

    private void read(int status, InputStream body) {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            if (status != 200) {
                error = "status " + status;
                return;
            }
            String line;
            while ((line = lines.readLine()) != null) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                JsonObject chunk = new JsonObject(line.substring(6));
                if (chunk.containsKey("error")) {
                    error = chunk.encode();
                    continue;
                }
                model = chunk.getString("model");
                synchronized (text) {
                    text.append(chunk.getJsonArray("choices").getJsonObject(0).getString("text", ""));
                }
                firstChunk.countDown();
            }
        } catch (Exception e) {
            error = e.toString();
        } finally {
            finishedNanos = System.nanoTime();
            firstChunk.countDown();
        }
    }

    void awaitFirstChunk() throws InterruptedException {
        if (!firstChunk.await(120, TimeUnit.SECONDS)) {
            throw new AssertionError("no stream chunk within 120 s");
        }
    }

    void awaitDone() throws Exception {
        done.get(300, TimeUnit.SECONDS); // generous: CI machines may be busy
    }

    String text() {
        synchronized (text) {
            return text.toString();
        }
    }

    String model() {
        return model;
    }

    String error() {
        return error;
    }

    long finishedNanos() {
        return finishedNanos;
    }
}
