package dev.chorus.serving.ops;

import dev.chorus.edge.http.ApiException;
import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.generation.EngineStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

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

        public static Outcome of(ApiException error) {
            return switch (error.status()) {
                case 429 -> OVERLOADED;
                case 503 -> UNAVAILABLE;
                default -> error.status() < 500 ? INVALID_REQUEST : ERROR;
            };
        }
    }

    private static final long LORA_INFO_REFRESH_MILLIS = 250;
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

    private final EngineStatsSource models;
    private final TenantUsage usage;
    private Gauge loraInfo; // event loop only, like loraLabels
    private List<Tag> loraLabels = List.of();

    public ServingMetrics(MeterRegistry registry, EngineStatsSource models, Vertx vertx, TenantUsage usage) {
        this.registry = registry;
        this.models = models;
        this.usage = usage;
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

        adapterCounter("chorus.adapter.cache.hits", "Adapter acquisitions that found the adapter in a device slot", models,
                AdapterCache.Stats::hits);
        adapterCounter("chorus.adapter.cache.misses", "Adapter acquisitions that had to upload it into a slot", models,
                AdapterCache.Stats::misses);
        adapterCounter("chorus.adapter.cache.evictions", "Adapters dropped from the device or host tier", models,
                AdapterCache.Stats::evictions);
        gauge("chorus.adapter.resident.device", "Adapters in device slots", models, s -> s.adapterCache().deviceResident());
        gauge("chorus.adapter.resident.host", "Parsed adapters in the host tier", models, s -> s.adapterCache().hostResident());
        gauge("chorus.merged.models.resident", "Merged variants resident beside the base", models, s -> s.mergedModels().resident());
        gauge("chorus.merged.models.bytes", "Device bytes the resident merged variants add to the base's", models,
                s -> s.mergedModels().bytes());
        refreshLoraInfo();
        // Its labels change with the traffic, so the series is re-registered when they do.
        vertx.setPeriodic(LORA_INFO_REFRESH_MILLIS, id -> refreshLoraInfo());
    }

    private void adapterCounter(String name, String description, EngineStatsSource models, ToLongFunction<AdapterCache.Stats> value) {
        FunctionCounter.builder(name, models, m -> value.applyAsLong(m.stats().adapterCache())).description(description).register(registry);
    }

    /**
     * vllm:lora_requests_info as vLLM exposes it: one series whose labels list the adapters of
     * running and waiting requests, valued with the time they last changed.
     */
    private void refreshLoraInfo() {
        EngineStats stats = models.stats();
        List<Tag> labels = List.of(
                Tag.of("running_lora_adapters", String.join(",", stats.runningAdapters())),
                Tag.of("waiting_lora_adapters", String.join(",", stats.waitingAdapters())),
                Tag.of("max_lora", Integer.toString(stats.maxAdapters())));
        if (labels.equals(loraLabels) && loraInfo != null) {
            return;
        }
        if (loraInfo != null) {
            registry.remove(loraInfo);
        }
        double changedAt = System.currentTimeMillis() / 1000.0;
        loraInfo = Gauge.builder("vllm:lora_requests_info", () -> changedAt).tags(labels)
                .description("Adapters of running and waiting requests (labels); value = when they last changed").register(registry);
        loraLabels = labels;
    }

    private void gauge(String name, String description, EngineStatsSource models, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, models, m -> value.applyAsDouble(m.stats())).description(description).strongReference(true).register(registry);
    }

    private Timer latencyTimer(boolean stream) {
        return Timer.builder("chorus.completion.duration").description("From request receipt to the last byte of the completion")
                .tag("stream", Boolean.toString(stream)).serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    public void requestEnded(Outcome outcome) {
        requests.get(outcome).increment();
    }

    /** A request the engine ran: outcome, tokens and latency in one go; also the tenant's own figures (null: an operator's). */
    public void completionEnded(String tenant, Outcome outcome, boolean stream, long startNanos, int prompt, int completion) {
        requestEnded(outcome);
        usage.ended(tenant, outcome == Outcome.COMPLETED, prompt, completion);
        promptTokens.increment(prompt);
        completionTokens.increment(completion);
        (stream ? streamLatency : bufferedLatency).record(Duration.ofNanos(System.nanoTime() - startNanos));
    }

    /** Safe on the engine thread: Micrometer timers are lock-free to record. */
    public void firstToken(String tenant, long startNanos) {
        timeToFirstToken.record(Duration.ofNanos(System.nanoTime() - startNanos));
        usage.firstToken(tenant, startNanos);
    }
}
