package dev.chorus.serving;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A model that cannot load keeps the process live but not ready, and requests get 503, not 500. */
@QuarkusTest
@TestProfile(ModelLoadFailureTest.MissingModel.class)
class ModelLoadFailureTest {

    public static class MissingModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("chorus.model.path", "/nonexistent/chorus-model");
        }
    }

    @Test
    void notReadyWithTheLoadErrorAndRequestsGet503() {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!given().get("/q/health/ready").asString().contains("failed to load") && System.nanoTime() < deadline) {
            ServingTestSupport.sleep(100);
        }
        given().get("/q/health/ready").then().statusCode(503)
                .body("status", equalTo("DOWN"))
                // By name: messaging adds its own readiness check, and the order of checks is not fixed.
                .body("checks.find { it.name == 'model' }.status", equalTo("DOWN"))
                .body("checks.find { it.name == 'model' }.data.reason", containsString("no such file or directory"));
        given().get("/q/health/live").then().statusCode(200);
        ServingTestSupport.post("{\"prompt\": \"Tom\"}").then().statusCode(503)
                .header("Retry-After", equalTo("60"))
                .body("error.type", equalTo("server_error"))
                .body("error.code", equalTo("model_not_ready"))
                .body("error.message", containsString("failed to load"));
    }
}
