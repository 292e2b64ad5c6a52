package dev.chorus.engine.generation;

import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.merged.VariantResidency;
import dev.chorus.engine.model.KvCache;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * A snapshot of the engine loop for metrics and health. The adapter sets name tenant/name@version
 * of the adapters in use by running requests and wanted by waiting ones (what Kubernetes inference
 * gateways read from vllm:lora_requests_info); maxAdapters is 0 for an engine without adapters;
 * mergedModels counts the merged variants resident beside the base.
 */
public record EngineStats(int running, int waiting, double kvCacheUsage, int lastBatchSize, long steps, long generatedTokens,
        Set<String> runningAdapters, Set<String> waitingAdapters, int maxAdapters, AdapterCache.Stats adapterCache,
        VariantResidency.Stats mergedModels) {

    public static final EngineStats IDLE = new EngineStats(0, 0, 0, 0, 0, 0, Set.of(), Set.of(), 0, AdapterCache.Stats.NONE,
            VariantResidency.Stats.NONE);

    public EngineStats {
        runningAdapters = Set.copyOf(runningAdapters);
        waitingAdapters = Set.copyOf(waitingAdapters);
    }

    /** The loop's state: {@code queued} counts submitted unfinished requests (waiting = queued − running, commands not yet drained included). */
    static EngineStats snapshot(Collection<Sequence> running, Collection<Sequence> prefilling, Collection<Sequence> waiting, KvCache cache,
            int queued, int lastBatchSize, long steps, long generatedTokens, int maxAdapters, AdapterCache.Stats adapterCache,
            VariantResidency.Stats mergedModels) {
        long used = 0;
        for (Sequence s : running) {
            used += s.position;
        }
        for (Sequence s : prefilling) {
            used += s.position;
        }
        double usage = (double) used / ((long) cache.slots() * cache.capacity());
        return new EngineStats(running.size(), Math.max(0, queued - running.size()), usage, lastBatchSize, steps, generatedTokens,
                adapterNames(running), adapterNames(waiting), maxAdapters, adapterCache, mergedModels);
    }

    private static Set<String> adapterNames(Collection<Sequence> sequences) {
        Set<String> names = new TreeSet<>();
        for (Sequence s : sequences) {
            if (s.request.adapter() != null) {
                names.add(s.request.adapter().toString());
            }
        }
        return names;
    }
}
