package dev.chorus.serving.feedback;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The completions tenants received lately, so feedback can name one by its id. Bounded twice:
 * at most {@code perTenant} per tenant (the oldest goes first, so one busy tenant cannot push out
 * another's) and none older than {@code maxAge}. Memory only: after a restart, feedback on older
 * completions sends the prompt and completion itself.
 */
public final class RecentCompletions {
    private final int perTenant;
    private final Duration maxAge;
    private final Clock clock;
    private final Map<String, LinkedHashMap<String, RecentCompletion>> byTenant = new HashMap<>();

    public RecentCompletions(int perTenant, Duration maxAge, Clock clock) {
        if (perTenant < 0 || maxAge.isNegative()) {
            throw new IllegalArgumentException("recent completions need a size >= 0 and an age >= 0");
        }
        this.perTenant = perTenant;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    public synchronized void add(RecentCompletion completion) {
        if (perTenant == 0) {
            return;
        }
        LinkedHashMap<String, RecentCompletion> recent = byTenant.computeIfAbsent(completion.tenant(), t -> new LinkedHashMap<>());
        recent.put(completion.id(), completion);
        expire(recent);
        while (recent.size() > perTenant) {
            Iterator<String> oldest = recent.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    /** The tenant's completion {@code id}; empty when it is unknown, too old, or another tenant's. */
    public synchronized Optional<RecentCompletion> find(String tenant, String id) {
        LinkedHashMap<String, RecentCompletion> recent = byTenant.get(tenant);
        if (recent == null) {
            return Optional.empty();
        }
        expire(recent);
        if (recent.isEmpty()) {
            byTenant.remove(tenant);
        }
        return Optional.ofNullable(recent.get(id));
    }

    /** Drops the expired head: entries are in insertion order, which is creation order. */
    private void expire(LinkedHashMap<String, RecentCompletion> recent) {
        Instant cutoff = clock.instant().minus(maxAge);
        Iterator<RecentCompletion> it = recent.values().iterator();
        while (it.hasNext() && it.next().createdAt().isBefore(cutoff)) {
            it.remove();
        }
    }
}
