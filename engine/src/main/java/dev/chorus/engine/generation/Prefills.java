package dev.chorus.engine.generation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Sequences holding a cache slot whose prompts are not all in the cache yet, in admission order,
 * and how the next prefill pass shares its token budget among them: an equal share per tenant (each
 * within a small bound while another tenant has requests in the engine), then oldest first, a prompt
 * that does not fit taken as a chunk. Touched only by the engine thread.
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
     * The next pass within {@code budget} tokens, or null when nothing waits for prefill. While only one
     * tenant has requests here (its prompts pending, possibly some decoding), its oldest prompts fill the
     * whole budget. While another tenant has any, either decoding ({@code decoding}) or waiting for its
     * own prefill, no tenant gets more than {@code tenantBudget} tokens of the pass: a small prompt that
     * arrives during a flood is prefilled in a short pass, not beside a full budget of the flood's
     * prompts, and decoding tenants' steps stay short. Each pending tenant first gets an equal share (its
     * oldest prompts, the last one possibly a chunk), then what is left goes oldest first, each tenant
     * still within its bound.
     */
    Pass next(int budget, int tenantBudget, Set<String> decoding) {
        Map<String, Integer> taken = new HashMap<>();
        for (Sequence s : sequences) {
            if (s.request.promptIds().length > s.position) {
                taken.put(s.request.tenant(), 0);
            }
        }
        if (taken.isEmpty()) {
            return null;
        }
        Set<String> present = new HashSet<>(decoding);
        present.addAll(taken.keySet());
        int bound = present.size() > 1 ? tenantBudget : budget; // the most one tenant may take of this pass
        int share = Math.max(1, Math.min(bound, budget / taken.size()));
        Map<Sequence, Integer> chunks = new HashMap<>();
        int[] left = {budget};
        for (Sequence s : sequences) { // each tenant's equal share, its oldest prompts first
            take(s, Math.min(share - taken.getOrDefault(s.request.tenant(), share), left[0]), taken, chunks, left);
        }
        for (Sequence s : sequences) { // the rest, oldest first, within each tenant's bound
            take(s, Math.min(bound - taken.getOrDefault(s.request.tenant(), bound), left[0]), taken, chunks, left);
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

    /** Adds up to {@code most} more tokens of {@code s}'s prompt to the pass. */
    private static void take(Sequence s, int most, Map<String, Integer> taken, Map<Sequence, Integer> chunks, int[] left) {
        int chunk = Math.min(most, s.request.promptIds().length - s.position - chunks.getOrDefault(s, 0));
        if (chunk > 0) {
            chunks.merge(s, chunk, Integer::sum);
            taken.merge(s.request.tenant(), chunk, Integer::sum);
            left[0] -= chunk;
        }
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
