package dev.chorus.engine.generation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Sequences holding a cache slot whose prompts are not all in the cache yet, in admission order,
 * and how the next prefill pass shares its token budget among them: an equal share per tenant (a
 * small one while another tenant decodes), then oldest first, a prompt that does not fit taken as a chunk. Touched only by the engine thread.
 */
final class Prefills {
    /** One pass: row i feeds chunks[i] more prompt tokens of rows.get(i). */
    record Pass(List<Sequence> rows, int[] chunks) {
    }

    private final List<Sequence> sequences = new ArrayList<>();

    void add(Sequence s) {
        s.position = 0;
        sequences.add(s);
    }

    /** Prompt tokens admitted and not yet prefilled, by tenant. */
    Map<String, Integer> pendingTokensByTenant() {
        Map<String, Integer> pending = new HashMap<>();
        for (Sequence s : sequences) {
            pending.merge(s.request.tenant(), s.request.promptIds().length - s.position, Integer::sum);
        }
        return pending;
    }

    /**
     * The next pass within {@code budget} tokens, or null when nothing waits for prefill. The budget
     * is shared equally among the tenants with prompts pending; while a tenant is only {@code decoding},
     * each pending tenant's share is at most {@code tenantBudget} and the rest goes unspent, so one
     * tenant's prompts lengthen another tenant's decode steps by little. Each pending tenant gets its
     * share first (its oldest prompts, the last one possibly a chunk), then what is left of the shares
     * goes oldest first. With one tenant: oldest first within the whole budget.
     */
    Pass next(int budget, int tenantBudget, Set<String> decoding) {
        Map<String, Integer> shareLeft = new HashMap<>();
        for (Sequence s : sequences) {
            if (s.request.promptIds().length > s.position) {
                shareLeft.put(s.request.tenant(), 0);
            }
        }
        if (shareLeft.isEmpty()) {
            return null;
        }
        boolean othersDecoding = !shareLeft.keySet().containsAll(decoding);
        int share = othersDecoding ? Math.max(1, Math.min(tenantBudget, budget / shareLeft.size())) : Math.max(1, budget / shareLeft.size());
        shareLeft.replaceAll((tenant, none) -> share);
        Map<Sequence, Integer> chunks = new HashMap<>();
        int left = othersDecoding ? share * shareLeft.size() : budget;
        for (Sequence s : sequences) { // each tenant's share, its oldest prompts first
            int allowance = shareLeft.getOrDefault(s.request.tenant(), 0);
            int chunk = Math.min(Math.min(allowance, left), s.request.promptIds().length - s.position);
            if (chunk > 0) {
                chunks.put(s, chunk);
                shareLeft.put(s.request.tenant(), allowance - chunk);
                left -= chunk;
            }
        }
        for (Sequence s : sequences) { // the rest, oldest first
            int chunk = Math.min(left, s.request.promptIds().length - s.position - chunks.getOrDefault(s, 0));
            if (chunk > 0) {
                chunks.merge(s, chunk, Integer::sum);
                left -= chunk;
            }
        }
        List<Sequence> rows = new ArrayList<>(chunks.size());
        int[] sizes = new int[chunks.size()];
        for (Sequence s : sequences) {
            Integer chunk = chunks.get(s);
            if (chunk != null) {
                sizes[rows.size()] = chunk;
                rows.add(s);
            }
        }
        return new Pass(rows, sizes);
    }

    /** Whether {@code s}'s whole prompt is in the cache; if so it leaves this queue. */
    boolean completed(Sequence s) {
        return s.position == s.request.promptIds().length && sequences.remove(s);
    }

    void removeIf(Predicate<Sequence> filter) {
        sequences.removeIf(filter);
    }

    /** The sequences in admission order (a live view, not to be modified). */
    List<Sequence> all() {
        return sequences;
    }
}
