package dev.chorus.registry;

import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/**
 * Whether the broker takes writes now, for readiness: the last write's outcome, checked against a
 * cluster probe at most every {@link #PROBE_INTERVAL_NANOS}, so a registry nobody writes to still
 * reports an outage, and one whose writes failed recovers as soon as the broker answers again.
 */
final class Writability {
    private static final long PROBE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final Admin admin;
    private volatile boolean writable = true;
    private volatile long checkedAt = System.nanoTime() - PROBE_INTERVAL_NANOS;

    Writability(Admin admin) {
        this.admin = admin;
    }

    boolean brokerAnswers() {
        long now = System.nanoTime();
        if (now - checkedAt >= PROBE_INTERVAL_NANOS) {
            checkedAt = now;
            writable = probe();
        }
        return writable;
    }

    void failed() {
        writable = false;
        checkedAt = System.nanoTime();
    }

    void succeeded() {
        writable = true;
    }

    private boolean probe() {
        try {
            return !admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty();
        } catch (Exception e) {
            return false;
        }
    }
}
