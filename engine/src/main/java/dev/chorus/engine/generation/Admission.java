package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.adapter.AdapterKey;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.PriorityQueue;
import java.util.function.BiConsumer;

/**
 * The waiting queue and the free KV cache slots, engine thread only: moves waiting requests into
 * slots once the model they run on is ready (their merged variant resident, or their adapter in a
 * device slot), oldest first; a request that must wait lets later ones go first.
 */
final class Admission {
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    // Lowest slot first keeps running sequences packed, so decode rows usually cover consecutive slots.
    private final PriorityQueue<Integer> freeSlots = new PriorityQueue<>();
    private final AdapterCache adapters; // null: no adapters
    private final VariantRouter variants; // null: no merged variants
    private final BiConsumer<Sequence, EngineException> fail;

    Admission(int slots, AdapterCache adapters, VariantRouter variants, BiConsumer<Sequence, EngineException> fail) {
        for (int s = 0; s < slots; s++) {
            freeSlots.add(s);
        }
        this.adapters = adapters;
        this.variants = variants;
        this.fail = fail;
    }

    Deque<Sequence> waiting() {
        return waiting;
    }

    void freeSlot(int slot) {
        freeSlots.add(slot);
    }

    /**
     * Moves waiting requests into free slots while the prompt tokens not yet prefilled fit one
     * iteration's budget (a longer prompt is admitted alone and then prefilled in chunks).
     */
    void admit(Prefills prefilling, int prefillBudget) {
        int pending = prefilling.pendingTokens();
        for (var it = waiting.iterator(); it.hasNext() && !freeSlots.isEmpty() && pending < prefillBudget; ) {
            Sequence s = it.next();
            try {
                if (!ready(s)) {
                    continue; // its variant or adapter is loading, or every adapter slot is pinned: later requests may go first
                }
            } catch (EngineException e) {
                failWaiting(s.request.adapter(), e); // the slots rejected it: only this adapter's requests fail
                break; // the queue changed under the iterator; the rest are admitted next iteration
            }
            it.remove();
            s.slot = freeSlots.poll();
            if (variants != null) {
                variants.admitted(s);
            }
            prefilling.add(s);
            pending += s.request.promptIds().length;
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
