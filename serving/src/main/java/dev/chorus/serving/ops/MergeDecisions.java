package dev.chorus.serving.ops;

import dev.chorus.engine.merged.MergeListener;
import dev.chorus.engine.merged.MergePolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The engine's merge decisions (merge, unmerge, LRU eviction, failed build), logged and counted as
 * chorus_merge_decisions_total{action}. Called on the engine thread: counting only, no blocking.
 */
@ApplicationScoped
public class MergeDecisions implements MergeListener {
    private static final Logger LOG = Logger.getLogger(MergeDecisions.class);

    private final Map<MergePolicy.Action, Counter> decisions = new EnumMap<>(MergePolicy.Action.class);

    public MergeDecisions(MeterRegistry registry) {
        for (MergePolicy.Action action : MergePolicy.Action.values()) {
            decisions.put(action, Counter.builder("chorus.merge.decisions").description("Merged-variant decisions by action")
                    .tag("action", action.label()).register(registry));
        }
    }

    @Override
    public void decided(MergePolicy.Decision decision) {
        decisions.get(decision.action()).increment();
        LOG.infof("merged variants: %s", decision);
    }

    @Override
    public void resident(int variants, long bytes) {
        LOG.debugf("merged variants resident: %d (%d bytes)", variants, bytes);
    }
}
