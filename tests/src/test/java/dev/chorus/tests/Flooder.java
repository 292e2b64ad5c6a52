package dev.chorus.tests;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A flooding tenant as a process of its own, as a hostile client is (sharing the measuring JVM, a
 * flood would measure that JVM's own threads and allocations, not the service): sends its requests
 * all at once, prints "started", then the count of each status.
 * Arguments: completions URL, Authorization header, number of ~1 MB prompts, number of valid long prompts.
 */
public final class Flooder {
    /** About 1 MB of JSON: a prompt far beyond any context. */
    static String oversized() {
        return "{\"prompt\": \"" + "a ".repeat(520_000) + "\", \"max_tokens\": 16}";
    }

    /** A prompt that fits (about 420 tokens of the 512 context) and asks for 32 more: real work for the engine. */
    static String valid() {
        return "{\"prompt\": \"" + "Once upon a time there was a little girl named Lily. ".repeat(35) + "\", \"max_tokens\": 32}";
    }

    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        int oversized = Integer.parseInt(args[2]);
        int valid = Integer.parseInt(args[3]);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        ExecutorService pool = Executors.newFixedThreadPool(oversized + valid);
        List<Future<Integer>> sent = new ArrayList<>();
        for (int i = 0; i < oversized + valid; i++) {
            String body = i < oversized ? oversized() : valid();
            sent.add(pool.submit(() -> http.send(HttpRequest.newBuilder(uri).header("Authorization", args[1])
                    .header("Content-Type", "application/json").timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.discarding()).statusCode()));
        }
        System.out.println("started");
        System.out.flush();
        Map<Integer, Integer> statuses = new TreeMap<>();
        for (Future<Integer> f : sent) {
            statuses.merge(f.get(3, TimeUnit.MINUTES), 1, Integer::sum);
        }
        pool.shutdownNow();
        System.out.println(statuses);
    }
}
