package dev.chorus.engine.generation;

import dev.chorus.engine.adapter.AdapterCache;
import java.util.Set;

/**
 * A snapshot of the engine loop for metrics and health. The adapter sets name tenant/name@version
 * of the adapters in use by running requests and wanted by waiting ones (what Kubernetes inference
 * gateways read from vllm:lora_requests_info); maxAdapters is 0 for an engine without adapters.
 */
public record EngineStats(int running, int waiting, double kvCacheUsage, int lastBatchSize, long steps, long generatedTokens,
        Set<String> runningAdapters, Set<String> waitingAdapters, int maxAdapters, AdapterCache.Stats adapterCache) {

    public static final EngineStats IDLE = new EngineStats(0, 0, 0, 0, 0, 0, Set.of(), Set.of(), 0, AdapterCache.Stats.NONE);

    public EngineStats {
        runningAdapters = Set.copyOf(runningAdapters);
        waitingAdapters = Set.copyOf(waitingAdapters);
    }
}
