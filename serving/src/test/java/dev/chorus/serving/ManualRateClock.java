package dev.chorus.serving;

import dev.chorus.edge.http.RateClock;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The rate limits' clock in serving's tests: it stands still until a test moves it, so a test of
 * refills and Retry-After does not depend on how fast this machine answers.
 */
@Alternative
@Priority(1)
@Singleton
public class ManualRateClock implements RateClock {
    private final AtomicLong now = new AtomicLong();

    @Override
    public long nanoTime() {
        return now.get();
    }

    void advance(Duration by) {
        now.addAndGet(by.toNanos());
    }
}
