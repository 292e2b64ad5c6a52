package dev.chorus.edge.http;

import dev.chorus.edge.auth.Caller;
import io.vertx.core.http.HttpServerResponse;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each tenant's request and token budgets ({@link LimitsConfig}) as token buckets: a bucket holds
 * up to one second of requests (at least one) and one minute of tokens, refilled continuously.
 * Answers carry OpenAI's x-ratelimit-* headers; a request beyond a budget is refused with
 * {@link RequestRejectedException} (RATE_LIMITED, Retry-After: when the bucket has room again).
 * Operators are not limited.
 */
@ApplicationScoped
public class RateLimits {
    private final LimitsConfig config;
    private final RateClock clock;
    private final Map<String, Bucket> requests = new ConcurrentHashMap<>();
    private final Map<String, Bucket> tokens = new ConcurrentHashMap<>();

    public RateLimits(LimitsConfig config, RateClock clock) {
        this.config = config;
        this.clock = clock;
    }

    /** Takes one request from the caller's budget, or throws; sets the request headers either way. */
    public void request(Caller caller, HttpServerResponse response) {
        if (caller.admin()) {
            return;
        }
        double perSecond = tenant(caller).flatMap(LimitsConfig.Tenant::requestsPerSecond).orElse(config.requestsPerSecond());
        if (perSecond <= 0) {
            return;
        }
        Bucket bucket = requests.computeIfAbsent(caller.tenant(), t -> new Bucket(Math.max(1, perSecond), perSecond));
        take(bucket, 1, "requests", "requests per second", perSecond, response);
    }

    /** Takes {@code count} tokens (prompt + max_tokens) from the caller's budget, or throws; sets the token headers either way. */
    public void tokens(Caller caller, long count, HttpServerResponse response) {
        if (caller.admin()) {
            return;
        }
        long perMinute = tenant(caller).flatMap(LimitsConfig.Tenant::tokensPerMinute).orElse(config.tokensPerMinute());
        if (perMinute <= 0) {
            return;
        }
        Bucket bucket = tokens.computeIfAbsent(caller.tenant(), t -> new Bucket(perMinute, perMinute / 60.0));
        if (count > perMinute) {
            throw new RequestRejectedException(RequestRejectedException.Reason.RATE_LIMITED, "this request needs " + count
                    + " tokens (prompt and max_tokens), more than the " + perMinute + " tokens per minute this tenant may use; lower max_tokens");
        }
        take(bucket, count, "tokens", "tokens per minute", perMinute, response);
    }

    private Optional<LimitsConfig.Tenant> tenant(Caller caller) {
        return Optional.ofNullable(config.tenants().get(caller.tenant()));
    }

    private void take(Bucket bucket, double amount, String kind, String unit, double limit, HttpServerResponse response) {
        double waitSeconds;
        double remaining;
        double untilFull;
        synchronized (bucket) {
            bucket.refill(clock.nanoTime());
            waitSeconds = bucket.level >= amount ? 0 : (amount - bucket.level) / bucket.perSecond;
            if (waitSeconds == 0) {
                bucket.level -= amount;
            }
            remaining = bucket.level;
            untilFull = (bucket.capacity - bucket.level) / bucket.perSecond;
        }
        response.putHeader("x-ratelimit-limit-" + kind, format(limit));
        response.putHeader("x-ratelimit-remaining-" + kind, Long.toString((long) Math.floor(remaining)));
        response.putHeader("x-ratelimit-reset-" + kind, duration(waitSeconds > 0 ? waitSeconds : untilFull));
        if (waitSeconds > 0) {
            throw new RequestRejectedException(RequestRejectedException.Reason.RATE_LIMITED, "rate limit reached: " + format(limit) + " " + unit
                    + " for this tenant; retry in " + duration(waitSeconds), (int) Math.ceil(waitSeconds));
        }
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.3f", value);
    }

    /** OpenAI's reset format: "1s", "6m0s", "120ms". */
    static String duration(double seconds) {
        if (seconds < 1) {
            return Math.round(seconds * 1000) + "ms";
        }
        long whole = (long) Math.ceil(seconds);
        return whole >= 60 ? whole / 60 + "m" + whole % 60 + "s" : whole + "s";
    }

    private static final class Bucket {
        final double capacity;
        final double perSecond;
        double level;
        long refilledAt = -1;

        Bucket(double capacity, double perSecond) {
            this.capacity = capacity;
            this.perSecond = perSecond;
            this.level = capacity;
        }

        void refill(long now) {
            if (refilledAt >= 0) {
                level = Math.min(capacity, level + (now - refilledAt) / 1e9 * perSecond);
            }
            refilledAt = now;
        }
    }
}
