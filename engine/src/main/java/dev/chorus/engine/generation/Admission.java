package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.adapter.AdapterKey;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.BiConsumer;

/**
 * The waiting queue and the free KV cache slots, engine thread only: moves waiting requests into
 * slots once the model they run on is ready (their merged variant resident, or their adapter in a
 * device slot), round-robin by tenant (see {@link TenantQueues}); a request that must wait lets later
 * ones go first. No tenant holds more than {@code tenantSlots} slots, so another tenant's request
 * finds one free at once.
 */
final class Admission {
    private final TenantQueues waiting = new TenantQueues();
    private final Map<String, Integer> slotsByTenant = new HashMap<>();
    private final EngineLoop.Settings settings;
    // Lowest slot first keeps running sequences packed, so decode rows usually cover consecutive slots.
    private final PriorityQueue<Integer> freeSlots = new PriorityQueue<>();
    private final AdapterCache adapters; // null: no adapters
    private final VariantRouter variants; // null: no merged variants
    private final BiConsumer<Sequence, EngineException> fail;

    Admission(EngineLoop.Settings settings, AdapterCache adapters, VariantRouter variants, BiConsumer<Sequence, EngineException> fail) {
        this.settings = settings;
        for (int s = 0; s < settings.maxBatch(); s++) {
            freeSlots.add(s);
        }
        this.adapters = adapters;
        this.variants = variants;
        this.fail = fail;
    }

    TenantQueues waiting() {
        return waiting;
    }

    /** Gives back the slot {@code s} held, if any. */
    void freeSlot(Sequence s) {
        if (s.slot >= 0) {
            freeSlots.add(s.slot);
            s.slot = -1;
            slotsByTenant.computeIfPresent(s.request.tenant(), (t, n) -> n <= 1 ? null : n - 1);
        }
    }

    /**
     * Moves waiting requests into free slots while their tenant's prompt tokens not yet prefilled fit
     * one iteration's budget (a longer prompt is admitted alone and then prefilled in chunks): one
     * tenant's backlog of prompts never keeps another's from a free slot.
     */
    void admit(Prefills prefilling) {
        Map<String, Integer> pending = prefilling.pendingTokensByTenant();
        for (var it = waiting.inTurn().iterator(); it.hasNext() && !freeSlots.isEmpty(); ) {
            Sequence s = it.next();
            String tenant = s.request.tenant();
            if (slotsByTenant.getOrDefault(tenant, 0) >= settings.tenantSlots() || pending.getOrDefault(tenant, 0) >= settings.prefillBudget()) {
                continue; // the rest of the slots, and of the prefill passes, stay for other tenants
            }
            try {
                if (!ready(s)) {
                    continue; // its variant or adapter is loading, or every adapter slot is pinned: later requests may go first
                }
            } catch (EngineException e) {
                failWaiting(s.request.adapter(), e); // the slots rejected it: only this adapter's requests fail
                break; // the queue changed under the iterator; the rest are admitted next iteration
            }
            waiting.admitted(s);
            s.slot = freeSlots.poll();
            slotsByTenant.merge(tenant, 1, Integer::sum);
            if (variants != null) {
                variants.admitted(s);
            }
            prefilling.add(s);
            pending.merge(tenant, s.request.promptIds().length, Integer::sum);
        }
    }

    /**
     * True when the sequence may start: base model, its merged variant pinned, or its adapter pinned in
     * a slot. Throws when the adapter (or its merged variant) is unusable.
     */
    private boolean ready(Sequence s) {
        AdapterKey key = s.request.adapter();
        if (variants != null && !variants.route(s)) {
            return false;
        }
        if (key == null || s.adapterPinned || s.variant != null) {
            return true;
        }
        int slot = adapters.acquire(key);
        if (slot == AdapterCache.WAIT) {
            return false;
        }
        s.adapterSlot = slot;
        s.adapterPinned = true;
        return true;
    }

    /** Fails every waiting request for {@code adapter}: its load or upload failed, which hurts no one else. */
    void failWaiting(AdapterKey adapter, EngineException error) {
        waiting.removeIf(s -> {
            if (!adapter.equals(s.request.adapter())) {
                return false;
            }
            fail.accept(s, error);
            return true;
        });
    }
}
