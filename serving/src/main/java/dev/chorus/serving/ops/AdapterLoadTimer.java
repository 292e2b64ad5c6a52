package dev.chorus.serving.ops;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** How long cold adapter loads take, from reading the files to a usable device slot. */
@ApplicationScoped
public class AdapterLoadTimer {
    private final Timer timer;

    public AdapterLoadTimer(MeterRegistry registry) {
        timer = Timer.builder("chorus.adapter.load.duration").description("Cold adapter load: source to usable device slot")
                .serviceLevelObjectives(Duration.ofMillis(5), Duration.ofMillis(20), Duration.ofMillis(50), Duration.ofMillis(100),
                        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5))
                .publishPercentiles(0.5, 0.99)
                .register(registry);
    }

    /** Called on the engine thread; recording is lock-free. */
    public void record(long nanos) {
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }
}
