package dev.chorus.serving;

import dev.chorus.engine.generation.EngineStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Serving metrics for /q/metrics. Engine gauges use vLLM's names so inference gateways that route
 * by queue depth and KV usage can read them unchanged.
 */
@Startup // register meters at boot so they are scraped (at zero) before the first request
@ApplicationScoped
public class ServingMetrics {

    /** How a completion request ended; the tag value of chorus_completion_requests_total. */
    public enum Outcome {
        COMPLETED, CANCELLED, INVALID_REQUEST, OVERLOADED, UNAVAILABLE, ERROR;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Outcome of(ApiException error) {
            return switch (error.status()) {
                case 429 -> OVERLOADED;
                case 503 -> UNAVAILABLE;
                default -> error.status() < 500 ? INVALID_REQUEST : ERROR;
            };
        }
    }

    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
        Duration.ofSeconds(10), Duration.ofSeconds(30)};

    private final MeterRegistry registry;
    private final Map<Outcome, Counter> requests = new EnumMap<>(Outcome.class);
    private final Counter promptTokens;
    private final Counter completionTokens;
    private final Timer timeToFirstToken;
    private final Timer streamLatency;
    private final Timer bufferedLatency;

    public ServingMetrics(MeterRegistry registry, ModelService models) {
        this.registry = registry;
        for (Outcome outcome : Outcome.values()) {
            requests.put(outcome, Counter.builder("chorus.completion.requests").description("Completion requests by how they ended")
                    .tag("outcome", outcome.tag()).register(registry));
        }
        promptTokens = Counter.builder("chorus.prompt.tokens").description("Prompt tokens of admitted requests").register(registry);
        completionTokens = Counter.builder("chorus.completion.tokens").description("Generated tokens").register(registry);
        timeToFirstToken = Timer.builder("chorus.time.to.first.token").description("From request receipt to the first generated token")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        streamLatency = latencyTimer(true);
        bufferedLatency = latencyTimer(false);

        gauge("vllm:num_requests_running", "Sequences in the running batch", models, s -> s.running());
        gauge("vllm:num_requests_waiting", "Requests queued for admission", models, s -> s.waiting());
        gauge("vllm:kv_cache_usage_perc", "Fraction of KV cache positions in use (0..1)", models, EngineStats::kvCacheUsage);
        gauge("chorus.engine.batch.size", "Sequences decoded together in the latest engine step", models, s -> s.lastBatchSize());
        FunctionCounter.builder("chorus.engine.decode.steps", models, m -> m.stats().steps())
                .description("Batched decode steps; generated tokens / steps = mean batch size").register(registry);
        FunctionCounter.builder("chorus.engine.generated.tokens", models, m -> m.stats().generatedTokens())
                .description("Tokens sampled by the engine").register(registry);
    }

    private void gauge(String name, String description, ModelService models, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, models, m -> value.applyAsDouble(m.stats())).description(description).strongReference(true).register(registry);
    }

    private Timer latencyTimer(boolean stream) {
        return Timer.builder("chorus.completion.duration").description("From request receipt to the last byte of the completion")
                .tag("stream", Boolean.toString(stream)).serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    public void requestEnded(Outcome outcome) {
        requests.get(outcome).increment();
    }

    /** A request the engine ran: outcome, tokens and latency in one go. */
    public void completionEnded(Outcome outcome, boolean stream, long startNanos, int prompt, int completion) {
        requestEnded(outcome);
        promptTokens.increment(prompt);
        completionTokens.increment(completion);
        (stream ? streamLatency : bufferedLatency).record(Duration.ofNanos(System.nanoTime() - startNanos));
    }

    /** Safe on the engine thread: Micrometer timers are lock-free to record. */
    public void firstToken(long startNanos) {
        timeToFirstToken.record(Duration.ofNanos(System.nanoTime() - startNanos));
    }
}
