package dev.chorus.edge.http;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * A service's one table from typed exceptions to HTTP answers. Rules are tried in the order they
 * were added (so add subclasses before their parents); an {@link ApiException} passes through, the
 * edge's own {@link RequestRejectedException}s get the short shape unless a rule names them, and
 * anything else no rule names goes to the fallback, which should log it and say nothing internal.
 */
public final class ErrorMapper {
    private record Rule<E extends Throwable>(Class<E> type, Function<? super E, ApiException> answer) {
        ApiException apply(Throwable error) {
            return answer.apply(type.cast(error));
        }
    }

    private final List<Rule<?>> rules;
    private final Function<Throwable, ApiException> fallback;

    private ErrorMapper(List<Rule<?>> rules, Function<Throwable, ApiException> fallback) {
        this.rules = List.copyOf(rules);
        this.fallback = fallback;
    }

    public static Builder builder() {
        return new Builder();
    }

    public ApiException toApi(Throwable error) {
        if (error instanceof ApiException api) {
            return api;
        }
        for (Rule<?> rule : rules) {
            if (rule.type().isInstance(error)) {
                return rule.apply(error);
            }
        }
        return fallback.apply(error);
    }

    /** Maps {@code error} and sends it; see {@link #send(HttpServerResponse, ApiException)}. */
    public ApiException send(HttpServerResponse response, Throwable error) {
        ApiException api = toApi(error);
        send(response, api);
        return api;
    }

    /** Sends the error with its JSON body unless the response is already gone or committed. */
    public static void send(HttpServerResponse response, ApiException error) {
        if (response.ended() || response.closed() || response.headWritten()) {
            return;
        }
        response.setStatusCode(error.status()).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        if (error.status() == 401) {
            response.putHeader("WWW-Authenticate", "Bearer");
        }
        if (error.retryAfterSeconds() > 0) {
            response.putHeader(HttpHeaders.RETRY_AFTER, Integer.toString(error.retryAfterSeconds()));
        }
        response.end(error.body().encode());
    }

    /** The status of each edge rejection. */
    public static int status(RequestRejectedException.Reason reason) {
        return switch (reason) {
            case NO_ROUTE -> 404;
            case METHOD_NOT_ALLOWED -> 405;
            case TOO_LARGE -> 413;
            case UNSUPPORTED_MEDIA_TYPE -> 415;
            case INVALID_BODY -> 400;
            case RATE_LIMITED, BUSY -> 429;
        };
    }

    private static ApiException rejected(RequestRejectedException e) {
        ApiException api = ApiException.of(status(e.reason()), e.reason().code(), e.getMessage());
        return e.retryAfterSeconds() > 0 ? api.retryAfter(e.retryAfterSeconds()) : api;
    }

    public static final class Builder {
        private final List<Rule<?>> rules = new ArrayList<>();

        private Builder() {
        }

        public <E extends Throwable> Builder on(Class<E> type, Function<? super E, ApiException> answer) {
            rules.add(new Rule<>(Objects.requireNonNull(type), Objects.requireNonNull(answer)));
            return this;
        }

        /** The answer to everything else; usually logs the error and returns a bare 500. */
        public ErrorMapper otherwise(Function<Throwable, ApiException> fallback) {
            List<Rule<?>> all = new ArrayList<>(rules);
            all.add(new Rule<>(RequestRejectedException.class, ErrorMapper::rejected)); // after the service's own rules
            return new ErrorMapper(all, Objects.requireNonNull(fallback));
        }
    }
}
