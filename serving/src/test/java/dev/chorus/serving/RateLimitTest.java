package dev.chorus.serving;

import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-tenant rate limits: tenant "limited" may send 2 requests per second and 600 tokens (prompt +
 * max_tokens) per minute (%test profile); beyond either it gets 429 with Retry-After and OpenAI's
 * x-ratelimit-* headers, and other tenants are not affected.
 */
@QuarkusTest
class RateLimitTest {
    static final String LIMITED = "Bearer limited-key";

    @Inject
    ManualRateClock clock;

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    static Response complete(String auth, int maxTokens) {
        return ServingTestSupport.as(auth).contentType(ContentType.JSON)
                .body("{\"prompt\": \"Tom found a shiny key\", \"max_tokens\": " + maxTokens + ", \"temperature\": 0}").post("/v1/completions");
    }

    @Test
    void requestsAndTokensBeyondTheTenantsBudgetGet429WithOpenAisHeaders() {
        // Requests: a bucket of 2, refilled at 2/s (on a clock that moves only when the test says). The third is refused.
        complete(LIMITED, 4).then().statusCode(200).header("x-ratelimit-limit-requests", equalTo("2"));
        complete(LIMITED, 4).then().statusCode(200).header("x-ratelimit-remaining-requests", equalTo("0"));
        complete(LIMITED, 4).then().statusCode(429).header("Retry-After", equalTo("1")).header("x-ratelimit-remaining-requests", equalTo("0"))
                .body("error.type", equalTo("rate_limit_error")).body("error.code", equalTo("rate_limit_exceeded"));
        // Another tenant is not limited.
        for (int i = 0; i < 4; i++) {
            complete(ServingTestSupport.ACME_AUTH, 4).then().statusCode(200);
        }

        // Tokens: 600 a minute (10 a second); the two requests took 2 x (7 prompt tokens + 4).
        clock.advance(Duration.ofMillis(1100)); // refills the request bucket, and 11 tokens: 600 - 22 + 11 = 589
        Response big = complete(LIMITED, 500);
        big.then().statusCode(200).header("x-ratelimit-limit-tokens", equalTo("600")).header("x-ratelimit-remaining-tokens", equalTo("82"));
        clock.advance(Duration.ofMillis(600)); // 82 + 6 = 88 left; 7 + 200 more need 119 more: 11.9 s
        complete(LIMITED, 200).then().statusCode(429).body("error.code", equalTo("rate_limit_exceeded")).header("Retry-After", equalTo("12"));
        clock.advance(Duration.ofSeconds(12)); // what Retry-After said
        complete(LIMITED, 200).then().statusCode(200);
    }
}
