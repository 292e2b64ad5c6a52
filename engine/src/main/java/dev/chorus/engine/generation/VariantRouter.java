package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.merged.MergePolicy;
import dev.chorus.engine.merged.MergeSettings;
import dev.chorus.engine.merged.MergedModels;
import dev.chorus.engine.merged.MergedVariant;
import dev.chorus.engine.merged.VariantResidency;
import dev.chorus.engine.model.LoadedModel;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Decides, on the engine thread, which model each request runs on: merged-only versions on their
 * variant (waiting while it loads), versions with a resident dynamic variant on it, everything else
 * on the base. Routing happens once, at admission, so a request finishes on the model it started
 * on. Feeds the dynamic merge policy each step and carries out its decisions through the residency.
 */
final class VariantRouter implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(VariantRouter.class.getName());

    private final MergedModels models;
    private final Variants options;
    private final VariantResidency residency;
    private final MergePolicy policy; // null: no dynamic merging
    private final int variantRowCap; // variant rows allowed while other requests wait
    private final Set<AdapterKey> dynamic = new HashSet<>(); // merged by the policy, not by form
    private int variantRows; // running or prefilling sequences on variants
    private boolean othersWaiting;

    VariantRouter(LoadedModel base, Variants options, int maxBatch, Consumer<VariantResidency.LoadResult> post) {
        this.models = options.models();
        this.options = options;
        MergeSettings s = options.settings();
        this.residency = new VariantResidency(s.maxModels(), s.maxBytes(), key -> MergedVariant.build(key, base, models.merged(key)), post,
                new VariantResidency.Listener() {
                    @Override
                    public void resident(AdapterKey key, long bytes) {
                        LOG.info(() -> "merged model of " + key + " resident (" + bytes + " bytes)");
                        publishResidency();
                    }

                    @Override
                    public void released(AdapterKey key, boolean lru) {
                        dynamic.remove(key);
                        if (lru) {
                            decided(new MergePolicy.Decision(MergePolicy.Action.EVICT, key, 0, 0));
                        }
                        publishResidency();
                    }

                    @Override
                    public void failed(AdapterKey key, EngineException error) {
                        dynamic.remove(key);
                        decided(new MergePolicy.Decision(MergePolicy.Action.FAILED, key, 0, 0));
                        LOG.warning(() -> "merged model of " + key + " failed: " + error.getMessage());
                    }
                });
        this.policy = s.dynamic() ? new MergePolicy(s, maxBatch, options.clock().getAsLong()) : null;
        this.variantRowCap = Math.max(1, maxBatch - (int) Math.ceil(s.starvationReserve() * maxBatch));
    }

    /**
     * Whether {@code s} may start now; when it runs merged its variant is pinned in {@code s.variant}.
     * Throws the build's error for a merged-only version whose variant failed.
     */
    boolean route(Sequence s) {
        AdapterKey key = s.request.adapter();
        if (key == null || s.variant != null) {
            return true;
        }
        MergedModels.Form form = models.form(key);
        if (form == MergedModels.Form.AWAITING_MERGE) {
            throw new dev.chorus.engine.merged.MergePendingException(key);
        }
        if (form == MergedModels.Form.UNMERGED || (form == MergedModels.Form.MERGEABLE && !residency.resident(key))) {
            return true;
        }
        if (othersWaiting && variantRows >= variantRowCap) {
            return false; // starvation guard: the slot goes to a request of another model waiting behind this one
        }
        Optional<MergedVariant> v = residency.acquire(key);
        if (v.isPresent()) {
            s.variant = v.get();
            variantRows++;
            return true;
        }
        Optional<EngineException> failed = residency.failure(key);
        if (failed.isPresent()) {
            throw failed.get();
        }
        residency.request(key); // merged only: wait for it
        return false;
    }

    /** {@code s} took a slot, on the model {@link #route} chose. */
    void admitted(Sequence s) {
        if (s.request.adapter() != null) {
            options.listener().admitted(s.request.id(), s.request.adapter(), s.variant != null);
        }
    }

    /** The sequence left the batch: unpin its variant. */
    void release(Sequence s) {
        if (s.variant != null) {
            variantRows--;
            residency.release(s.variant);
            s.variant = null;
        }
    }

    /** A build finished: install it; the error of a merged-only version's failed build, for its waiting requests. */
    Optional<EngineException> loaded(VariantResidency.LoadResult result) {
        residency.loaded(result);
        return result.error() != null && models.form(result.key()) == MergedModels.Form.MERGED_ONLY ? Optional.of(result.error())
                : Optional.empty();
    }

    /** Forgets a version (deleted, or replaced by a newer one): its variant goes once unused. */
    void drop(AdapterKey key) {
        dynamic.remove(key);
        residency.drop(key);
    }

    /** Once per engine iteration: samples the queues for the policy and carries out its decisions. */
    void tick(Collection<Sequence> waiting, Collection<Sequence> running, Collection<Sequence> prefilling) {
        othersWaiting = false;
        Map<AdapterKey, Integer> load = new HashMap<>();
        for (Collection<Sequence> group : java.util.List.of(waiting, running, prefilling)) {
            for (Sequence s : group) {
                AdapterKey key = s.request.adapter();
                if (key != null && models.form(key) == MergedModels.Form.MERGEABLE) {
                    load.merge(key, 1, Integer::sum);
                }
            }
        }
        for (Sequence s : waiting) {
            othersWaiting |= s.request.adapter() == null || !residency.resident(s.request.adapter());
        }
        if (policy == null) {
            return;
        }
        long now = options.clock().getAsLong();
        policy.observe(now, load, waiting.size() + running.size() + prefilling.size());
        for (MergePolicy.Decision d : policy.decide(now, Set.copyOf(dynamic), k -> residency.failure(k).isEmpty())) {
            if (d.action() == MergePolicy.Action.MERGE) {
                if (!residency.request(d.key())) {
                    continue; // no room now (every variant in use): the next window decides again
                }
                dynamic.add(d.key());
                decided(d);
            } else {
                decided(d); // told before the variant goes, so listeners see the cause first
                dynamic.remove(d.key());
                residency.drop(d.key());
            }
        }
    }

    private void decided(MergePolicy.Decision d) {
        LOG.info(() -> "dynamic merge: " + d);
        options.listener().decided(d);
    }

    private void publishResidency() {
        VariantResidency.Stats s = residency.stats();
        options.listener().resident(s.resident(), s.bytes());
    }

    VariantResidency.Stats stats() {
        return residency.stats();
    }

    @Override
    public void close() {
        residency.close();
    }
}
