package dev.chorus.console;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.time.Duration;

/** Where the console's backend-for-frontend finds the services it calls on the signed-in caller's behalf. */
@ConfigMapping(prefix = "chorus.console")
public interface ConsoleConfig {
    /** Serving's API (completions, models, feedback, usage). */
    @WithDefault("http://localhost:8000")
    URI servingUrl();

    /** The adapter registry's API. */
    @WithDefault("http://localhost:8001")
    URI registryUrl();

    /** The training service's API (files, fine-tuning jobs, datasets). */
    @WithDefault("http://localhost:8002")
    URI trainingUrl();

    /** How long to wait for a connection to a service before answering 502. */
    @WithDefault("5s")
    Duration connectTimeout();

    /** A call that sends nothing for this long (no byte of a response or stream) is cut off. */
    @WithDefault("5m")
    Duration idleTimeout();
}
