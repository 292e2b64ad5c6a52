package dev.chorus.edge.http;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;

/** The monotonic time rate-limit buckets refill by; a test may replace the bean with a clock it moves. */
public interface RateClock {
    long nanoTime();

    /** The system's monotonic clock. */
    @ApplicationScoped
    @DefaultBean
    class System implements RateClock {
        @Override
        public long nanoTime() {
            return java.lang.System.nanoTime();
        }
    }
}
