package dev.chorus.engine.generation;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Requests waiting for a cache slot, one FIFO per tenant, offered round-robin: each tenant's oldest
 * before any tenant's second, starting after the tenant served last. A tenant that queues a hundred
 * requests delays another tenant's next one by at most one admission, not a hundred. Touched only by
 * the engine thread.
 */
final class TenantQueues {
    // Insertion order is the round-robin order; a tenant served moves to the back.
    private final LinkedHashMap<String, ArrayDeque<Sequence>> byTenant = new LinkedHashMap<>();
    private int size;

    void add(Sequence s) {
        byTenant.computeIfAbsent(s.request.tenant(), t -> new ArrayDeque<>()).add(s);
        size++;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    /** The waiting requests in the order they are offered: round r holds each tenant's r-th oldest. */
    List<Sequence> inTurn() {
        List<Iterator<Sequence>> lines = new ArrayList<>(byTenant.size());
        byTenant.values().forEach(q -> lines.add(q.iterator()));
        List<Sequence> out = new ArrayList<>(size);
        while (out.size() < size) {
            for (Iterator<Sequence> line : lines) {
                if (line.hasNext()) {
                    out.add(line.next());
                }
            }
        }
        return out;
    }

    /** Takes {@code s} out to run it: its tenant goes to the back of the turn. */
    void admitted(Sequence s) {
        String tenant = s.request.tenant();
        ArrayDeque<Sequence> line = byTenant.remove(tenant);
        if (line != null && line.remove(s)) {
            size--;
        }
        if (line != null && !line.isEmpty()) {
            byTenant.put(tenant, line);
        }
    }

    /** Removes every waiting request {@code filter} accepts (it may act on them: finish, fail). */
    void removeIf(Predicate<Sequence> filter) {
        for (Iterator<Map.Entry<String, ArrayDeque<Sequence>>> it = byTenant.entrySet().iterator(); it.hasNext(); ) {
            ArrayDeque<Sequence> line = it.next().getValue();
            int before = line.size();
            line.removeIf(filter);
            size -= before - line.size();
            if (line.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Every waiting request (a snapshot). */
    Collection<Sequence> all() {
        List<Sequence> out = new ArrayList<>(size);
        byTenant.values().forEach(out::addAll);
        return out;
    }

    void clear() {
        byTenant.clear();
        size = 0;
    }
}
