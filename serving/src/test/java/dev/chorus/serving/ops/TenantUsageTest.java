package dev.chorus.serving.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TenantUsageTest {
    private final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(1000));
    private final TenantUsage usage = new TenantUsage(now::get);

    private void advanceSeconds(long s) {
        now.addAndGet(TimeUnit.SECONDS.toNanos(s));
    }

    @Test
    void countsPerTenantAndKeepsTenantsApart() {
        usage.ended("acme", true, 5, 30);
        usage.ended("acme", false, 4, 6);
        usage.ended("globex", true, 7, 12);
        usage.ended(null, true, 1, 1); // an operator's request counts for nobody
        TenantUsage.Snapshot acme = usage.of("acme").orElseThrow();
        assertEquals(1, acme.completedRequests());
        assertEquals(1, acme.cancelledRequests());
        assertEquals(9, acme.promptTokens());
        assertEquals(36, acme.completionTokens());
        assertEquals(36 / 60.0, acme.tokensPerSecond(), 1e-12);
        assertEquals(12, usage.of("globex").orElseThrow().completionTokens());
        assertEquals(2, usage.all().size());
        assertTrue(usage.of("initech").isEmpty());
    }

    @Test
    void tokensPerSecondCoversTheLastMinuteOnly() {
        usage.ended("acme", true, 0, 600);
        advanceSeconds(30);
        usage.ended("acme", true, 0, 60);
        assertEquals(660 / 60.0, usage.of("acme").orElseThrow().tokensPerSecond(), 1e-12);
        advanceSeconds(31); // the first request's second has left the window; the second's has not
        assertEquals(1.0, usage.of("acme").orElseThrow().tokensPerSecond(), 1e-12);
        advanceSeconds(60);
        assertEquals(0.0, usage.of("acme").orElseThrow().tokensPerSecond(), 1e-12);
        assertEquals(660, usage.of("acme").orElseThrow().completionTokens(), "totals stay");
    }

    @Test
    void timeToFirstTokenQuantilesOverTheLatestRequests() {
        usage.ended("acme", true, 1, 1);
        assertNull(usage.of("acme").orElseThrow().ttftP50Millis());
        // TTFTs 1..10 ms: nearest-rank p50 = 5, p90 = 9
        for (int ms = 1; ms <= 10; ms++) {
            long start = now.get() - TimeUnit.MILLISECONDS.toNanos(ms);
            usage.firstToken("acme", start);
        }
        TenantUsage.Snapshot s = usage.of("acme").orElseThrow();
        assertEquals(5.0, s.ttftP50Millis(), 1e-9);
        assertEquals(9.0, s.ttftP90Millis(), 1e-9);
        assertEquals(10, s.ttftSamples());
        // 100 more at 50 ms push the old ones out of the ring
        for (int i = 0; i < TenantUsage.TTFT_SAMPLES; i++) {
            usage.firstToken("acme", now.get() - TimeUnit.MILLISECONDS.toNanos(50));
        }
        assertEquals(50.0, usage.of("acme").orElseThrow().ttftP50Millis(), 1e-9);
        assertEquals(TenantUsage.TTFT_SAMPLES, usage.of("acme").orElseThrow().ttftSamples());
    }
}
