package dev.chorus.serving.ops;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Each tenant's own serving figures, for GET /v1/usage (the Prometheus metrics are service-wide and
 * on the management port): completed and cancelled requests, tokens, generated tokens per second
 * over the last minute, and time to first token over the latest requests. Kept per tenant so a
 * tenant's view never contains another's data.
 */
@ApplicationScoped
public class TenantUsage {
    static final int WINDOW_SECONDS = 60;
    static final int TTFT_SAMPLES = 100;

    private final ConcurrentMap<String, Figures> tenants = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    public TenantUsage() {
        this(System::nanoTime);
    }

    TenantUsage(LongSupplier nanoClock) {
        this.clock = nanoClock;
    }

    /** What GET /v1/usage shows of one tenant. {@code ttftMillis} p50 and p90 are null before the first token. */
    public record Snapshot(long completedRequests, long cancelledRequests, long promptTokens, long completionTokens,
            double tokensPerSecond, int windowSeconds, Double ttftP50Millis, Double ttftP90Millis, int ttftSamples) {
    }

    public void firstToken(String tenant, long startNanos) {
        if (tenant != null) {
            figures(tenant).firstToken((clock.getAsLong() - startNanos) / 1e6);
        }
    }

    public void ended(String tenant, boolean completed, int promptTokens, int completionTokens) {
        if (tenant != null) {
            figures(tenant).ended(completed, promptTokens, completionTokens, seconds());
        }
    }

    public Optional<Snapshot> of(String tenant) {
        Figures f = tenants.get(tenant);
        return f == null ? Optional.empty() : Optional.of(f.snapshot(seconds()));
    }

    /** Every tenant with figures, by name: for operators. */
    public Map<String, Snapshot> all() {
        long now = seconds();
        Map<String, Snapshot> out = new TreeMap<>();
        tenants.forEach((tenant, f) -> out.put(tenant, f.snapshot(now)));
        return out;
    }

    private Figures figures(String tenant) {
        return tenants.computeIfAbsent(tenant, t -> new Figures());
    }

    private long seconds() {
        return TimeUnit.NANOSECONDS.toSeconds(clock.getAsLong());
    }

    /** One tenant's counters; a per-second ring of generated tokens and a ring of recent TTFTs. */
    private static final class Figures {
        private long completed;
        private long cancelled;
        private long promptTokens;
        private long completionTokens;
        private final long[] tokensAt = new long[WINDOW_SECONDS]; // tokens finished in second s, at s % WINDOW
        private final long[] secondOf = new long[WINDOW_SECONDS]; // which second each slot holds
        private final double[] ttft = new double[TTFT_SAMPLES]; // ms, ring
        private int ttftCount;

        synchronized void firstToken(double millis) {
            ttft[ttftCount % TTFT_SAMPLES] = millis;
            ttftCount++;
        }

        synchronized void ended(boolean ok, int prompt, int completion, long second) {
            if (ok) {
                completed++;
            } else {
                cancelled++;
            }
            promptTokens += prompt;
            completionTokens += completion;
            int slot = (int) (second % WINDOW_SECONDS);
            if (secondOf[slot] != second) {
                secondOf[slot] = second;
                tokensAt[slot] = 0;
            }
            tokensAt[slot] += completion;
        }

        synchronized Snapshot snapshot(long now) {
            long recent = 0;
            for (int i = 0; i < WINDOW_SECONDS; i++) {
                if (now - secondOf[i] < WINDOW_SECONDS && secondOf[i] <= now) {
                    recent += tokensAt[i];
                }
            }
            int n = Math.min(ttftCount, TTFT_SAMPLES);
            double[] sorted = Arrays.copyOf(ttft, n);
            Arrays.sort(sorted);
            return new Snapshot(completed, cancelled, promptTokens, completionTokens, recent / (double) WINDOW_SECONDS, WINDOW_SECONDS,
                    n == 0 ? null : quantile(sorted, 0.5), n == 0 ? null : quantile(sorted, 0.9), n);
        }

        /** Nearest rank: the smallest sample with at least q of the samples at or below it. */
        private static double quantile(double[] sorted, double q) {
            return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
        }
    }
}
