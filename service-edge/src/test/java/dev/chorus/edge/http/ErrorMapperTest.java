package dev.chorus.edge.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class ErrorMapperTest {
    static class TooBig extends IllegalArgumentException {
        TooBig(String message) {
            super(message);
        }
    }

    final ErrorMapper mapper = ErrorMapper.builder()
            .on(TooBig.class, e -> ApiException.of(413, "too_large", e.getMessage()))
            .on(IllegalArgumentException.class, e -> ApiException.of(422, "invalid", e.getMessage()))
            .otherwise(e -> ApiException.of(500, "internal_error", "internal server error"));

    @Test
    void theFirstMatchingRuleAnswersInOrderAndTheRestFallsThrough() {
        assertEquals(413, mapper.toApi(new TooBig("big")).status(), "the subclass rule was added first");
        assertEquals(422, mapper.toApi(new IllegalArgumentException("bad")).status());
        assertEquals(500, mapper.toApi(new IllegalStateException("bug")).status());
        ApiException api = ApiException.of(409, "conflict", "no");
        assertSame(api, mapper.toApi(api));
    }

    @Test
    void bodiesHaveTheShortOrTheOpenAiShape() {
        assertEquals(new JsonObject("{\"error\":{\"message\":\"m\",\"code\":\"c\"}}"), ApiException.of(404, "c", "m").body());
        assertEquals(new JsonObject("{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"),
                ApiException.openAi(400, "invalid_request_error", "m", null, null).body());
        assertEquals(7, ApiException.of(503, "c", "m").retryAfter(7).retryAfterSeconds());
    }
}
