package dev.chorus.serving.ops;

import dev.chorus.edge.http.ApiException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/** chorus_feedback_accepted_total and chorus_feedback_rejected_total{reason}: what became of POST /v1/feedback. */
@Startup // registered at boot, so they are scraped at zero before the first feedback
@ApplicationScoped
public class FeedbackMetrics {
    /** Why feedback was turned away; the reason tag. */
    public enum Reason {
        INVALID_REQUEST, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, TOO_LARGE, UNAVAILABLE, ERROR;

        public static Reason of(ApiException error) {
            return switch (error.status()) {
                case 400 -> INVALID_REQUEST;
                case 401 -> UNAUTHENTICATED;
                case 403 -> FORBIDDEN;
                case 404 -> NOT_FOUND;
                case 413 -> TOO_LARGE;
                case 503 -> UNAVAILABLE;
                default -> error.status() < 500 ? INVALID_REQUEST : ERROR;
            };
        }
    }

    private final Counter accepted;
    private final Map<Reason, Counter> rejected = new EnumMap<>(Reason.class);

    public FeedbackMetrics(MeterRegistry registry) {
        accepted = Counter.builder("chorus.feedback.accepted").description("Feedback events the broker acknowledged (answered 202)")
                .register(registry);
        for (Reason r : Reason.values()) {
            rejected.put(r, Counter.builder("chorus.feedback.rejected").description("Feedback not accepted, by reason")
                    .tag("reason", r.name().toLowerCase(Locale.ROOT)).register(registry));
        }
    }

    public void accepted() {
        accepted.increment();
    }

    public void rejected(ApiException error) {
        rejected.get(Reason.of(error)).increment();
    }
}
