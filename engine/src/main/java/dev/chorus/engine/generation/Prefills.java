package dev.chorus.engine.generation;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Sequences holding a cache slot whose prompts are not all in the cache yet, in admission order,
 * and how the next prefill pass shares its token budget among them: oldest first, the last one
 * taken possibly as a chunk of its prompt. Touched only by the engine thread.
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

    /** Prompt tokens admitted and not yet prefilled. */
    int pendingTokens() {
        int pending = 0;
        for (Sequence s : sequences) {
            pending += s.request.promptIds().length - s.position;
        }
        return pending;
    }

    /** The next pass within {@code budget} tokens, or null when nothing waits for prefill. */
    Pass next(int budget) {
        List<Sequence> rows = new ArrayList<>();
        List<Integer> chunks = new ArrayList<>();
        for (Sequence s : sequences) {
            int chunk = Math.min(budget, s.request.promptIds().length - s.position);
            if (chunk <= 0) {
                break;
            }
            rows.add(s);
            chunks.add(chunk);
            budget -= chunk;
        }
        return rows.isEmpty() ? null : new Pass(rows, chunks.stream().mapToInt(Integer::intValue).toArray());
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
