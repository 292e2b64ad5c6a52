package dev.chorus.console;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** The backend-for-frontend against a fake service: what it forwards, what it keeps back, and streams. */
@QuarkusTest
@QuarkusTestResource(FakeServices.class)
class ServiceProxyTest {

    @Test
    void forwardsPathQueryBodyAndTheCallersKeyOnly() {
        given().header("Authorization", "Bearer acme-key").header("Cookie", "session=secret").header("X-Custom", "x")
                .contentType("application/json").body("{\"version\": 2}")
                .post("/api/registry/tenants/acme/adapters/pirate/promote?promote=true")
                .then().statusCode(200)
                .body("method", equalTo("POST"))
                .body("path", equalTo("/v1/tenants/acme/adapters/pirate/promote"))
                .body("query", equalTo("promote=true"))
                .body("authorization", equalTo("Bearer acme-key"))
                .body("cookie", nullValue())
                .body("x_forwarded", nullValue())
                .body("body", equalTo("{\"version\": 2}"))
                .header("Retry-After", "3")
                .header("Set-Cookie", nullValue());
    }

    @Test
    void noKeyMeansNoKeyForwarded() {
        given().get("/api/serving/models").then().statusCode(200).body("authorization", nullValue()).body("path", equalTo("/v1/models"));
    }

    @Test
    void passesTheServicesStatusOn() {
        given().header("Authorization", "Bearer k").get("/api/serving/missing").then().statusCode(404);
    }

    @Test
    void streamsServerSentEvents() {
        String body = given().header("Authorization", "Bearer k").contentType("application/json").body("{\"stream\": true}")
                .post("/api/serving/chat/completions").then().statusCode(200).header("Content-Type", containsString("text/event-stream"))
                .extract().asString();
        assertEquals("data: {\"n\": 0}\n\ndata: {\"n\": 1}\n\ndata: {\"n\": 2}\n\ndata: [DONE]\n\n", body);
    }

    @Test
    void anUnreachableServiceIsAJson502() {
        given().header("Authorization", "Bearer k").get("/api/training/fine_tuning/jobs").then().statusCode(502)
                .body("error.type", equalTo("bad_gateway")).body("error.message", containsString("training is unreachable"));
    }

    @Test
    void onlyTheThreeServicesAndOnlyBelowTheirPrefix() {
        given().get("/api/serving/").then().statusCode(404).body("error.code", equalTo("not_found"));
        given().get("/api/kafka/topics").then().statusCode(404);
    }

    @Test
    void servesThePageWithItsChartLibraryAndAStrictContentSecurityPolicy() {
        String page = given().get("/").then().statusCode(200).header("Content-Security-Policy", containsString("default-src 'self'"))
                .extract().asString();
        String chart = page.replaceAll("(?s).*src=\"(/webjars/chart\\.js/[^\"]+)\".*", "$1");
        given().get(chart).then().statusCode(200).body(containsString("Chart"));
        given().get("/js/app.js").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);
    }
}
