package dev.chorus.engine.generation;

import java.util.Set;

/**
 * A snapshot of the engine loop for metrics and health. The adapter sets name tenant/name@version
 * of the adapters in use by running requests and wanted by waiting ones (what Kubernetes inference
 * gateways read from vllm:lora_requests_info).
 */
public record EngineStats(int running, int waiting, double kvCacheUsage, int lastBatchSize, long steps, long generatedTokens,
        Set<String> runningAdapters, Set<String> waitingAdapters) {

    public static final EngineStats IDLE = new EngineStats(0, 0, 0, 0, 0, 0, Set.of(), Set.of());

    public EngineStats {
        runningAdapters = Set.copyOf(runningAdapters);
        waitingAdapters = Set.copyOf(waitingAdapters);
    }
}
