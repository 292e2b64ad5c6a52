package dev.chorus.serving;

import static dev.chorus.serving.ServingTestSupport.ACME_AUTH;
import static dev.chorus.serving.ServingTestSupport.ACME_AUTH_ROTATED;
import static dev.chorus.serving.ServingTestSupport.GLOBEX_AUTH;
import static dev.chorus.serving.ServingTestSupport.MODEL;
import static dev.chorus.serving.ServingTestSupport.OPERATOR_AUTH;
import static dev.chorus.serving.ServingTestSupport.as;
import static dev.chorus.serving.ServingTestSupport.greedy;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import io.quarkus.test.common.http.TestHTTPResourceManager;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bearer keys map to tenants; a tenant can use and see only its own adapters, and cannot tell others' exist. */
@QuarkusTest
class TenantIsolationTest {

    @BeforeAll
    static void adapters() {
        TestAdapters.clear("acme", "pirate");
        TestAdapters.clear("globex", "space");
        TestAdapters.publish("acme", "pirate", 1, AdapterType.LORA, 8, 11);
        TestAdapters.publish("globex", "space", 1, AdapterType.QA_LORA, 8, 12);
        TestAdapters.publish("globex", "space", 2, AdapterType.SCALE, 0, 13);
    }

    @BeforeEach
    void ready() {
        ServingTestSupport.awaitReady();
    }

    static Response complete(String auth, Object body) {
        return as(auth).contentType(ContentType.JSON).body(body).post("/v1/completions");
    }

    static Map<String, Object> with(String model) {
        Map<String, Object> request = greedy("Tom found a shiny key", 24);
        request.put("model", model);
        return request;
    }

    @Test
    void missingOrBadKeysGet401OnEveryEndpoint() {
        for (String path : List.of("/v1/completions", "/v1/chat/completions")) {
            given().contentType(ContentType.JSON).body(with(MODEL)).post(path).then().statusCode(401)
                    .header("WWW-Authenticate", equalTo("Bearer"))
                    .body("error.code", equalTo("invalid_api_key"));
            for (String bad : List.of("Bearer wrong-key", "Basic YWNtZTphY21lLWtleQ==", "Bearer ", "acme-key", "Bearer acme-key-")) {
                as(bad).contentType(ContentType.JSON).body(with(MODEL)).post(path).then().statusCode(401)
                        .body("error.code", equalTo("invalid_api_key"));
            }
        }
        given().get("/v1/models").then().statusCode(401).body("error.code", equalTo("invalid_api_key"));
        as("Bearer wrong-key").get("/v1/models").then().statusCode(401);
        // A key's digest is not the key.
        as("Bearer afacab3575137afa4e00d9cbcafcb14c9ae25f779d964eb0ea5b2c4eb5dfd163").get("/v1/models").then().statusCode(401);
        // Probes stay open on the API port; metrics, which name tenants' adapters, are only on the management interface.
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(404);
        given().baseUri(TestHTTPResourceManager.getManagementUri()).get("/metrics").then().statusCode(200);
    }

    @Test
    void aTenantCompletesWithItsAdapterUnderEitherKey() {
        String base = text(complete(ACME_AUTH, with(MODEL)), MODEL);
        String pirate = text(complete(ACME_AUTH, with("pirate")), "pirate@1");
        assertNotEquals(base, pirate, "the adapter changes the output");
        assertEquals(pirate, text(complete(ACME_AUTH_ROTATED, with("pirate@1")), "pirate@1"), "both of acme's keys, same adapter");
        assertEquals(base, text(complete(ACME_AUTH, with(MODEL)), MODEL), "the base is unaffected by adapter requests");
    }

    @Test
    void anotherTenantsAdapterIsIndistinguishableFromANonexistentOne() {
        JsonObject missing = notFound(GLOBEX_AUTH, "no-such-adapter");
        for (String name : List.of("pirate", "pirate@1", "acme/pirate", "acme/pirate@1", "../acme/pirate")) {
            JsonObject error = notFound(GLOBEX_AUTH, name);
            assertEquals(missing.encode().replace("no-such-adapter", name), error.encode(), "same answer as for a name nobody has");
        }
        notFound(ACME_AUTH, "space");
        notFound(ACME_AUTH, "space@2");
        notFound(ACME_AUTH, "pirate@2"); // own adapter, no such version
        notFound(ACME_AUTH, "pirate@0");
        notFound(ACME_AUTH, "pirate@x");
        // Chat resolves models the same way.
        as(GLOBEX_AUTH).contentType(ContentType.JSON)
                .body(Map.of("model", "pirate", "messages", List.of(Map.of("role", "user", "content", "Tom"))))
                .post("/v1/chat/completions").then().statusCode(404).body("error.code", equalTo("model_not_found"));
    }

    @Test
    void modelsListsTheBaseAndOnlyTheCallersAdapters() {
        // Other test classes give acme more adapters; globex has only this one.
        as(ACME_AUTH).get("/v1/models").then().statusCode(200)
                .body("data[0].id", equalTo(MODEL))
                .body("data.id", hasItem("pirate"))
                .body("data.id", not(hasItem("space")))
                .body("data.find { it.id == 'pirate' }.parent", equalTo(MODEL))
                .body("data.find { it.id == 'pirate' }.root", equalTo("pirate@1"))
                .body("data.find { it.id == 'pirate' }.versions", equalTo(List.of(1)))
                .body("data.find { it.id == 'pirate' }.owned_by", equalTo("acme"));
        as(GLOBEX_AUTH).get("/v1/models").then().statusCode(200)
                .body("data.id", equalTo(List.of(MODEL, "space")))
                .body("data[1].active_version", equalTo(2))
                .body("data[1].versions", equalTo(List.of(1, 2)));
        assertTrue(!as(GLOBEX_AUTH).get("/v1/models").asString().contains("pirate"), "nothing of acme's leaks");
    }

    @Test
    void operatorsSeeAndAddressEveryTenantsAdapters() {
        as(OPERATOR_AUTH).get("/v1/models").then().statusCode(200)
                .body("data[0].id", equalTo(MODEL))
                .body("data.id", hasItems("acme/pirate", "globex/space"));
        String asAcme = text(complete(ACME_AUTH, with("pirate")), "pirate@1");
        assertEquals(asAcme, text(complete(OPERATOR_AUTH, with("acme/pirate")), "acme/pirate@1"));
        notFound(OPERATOR_AUTH, "pirate"); // operators always name the tenant
    }

    static String text(Response response, String model) {
        response.then().statusCode(200).body("model", equalTo(model));
        return response.path("choices[0].text");
    }

    static JsonObject notFound(String auth, String model) {
        Response response = complete(auth, with(model));
        response.then().statusCode(404).body("error.code", equalTo("model_not_found")).body("error.param", equalTo("model"));
        return new JsonObject(response.asString());
    }

    /** GET /v1/usage: a tenant's own figures only, grown by its own requests; an operator sees every tenant's. */
    @Test
    void usageShowsTheCallersOwnFiguresOnly() {
        as(GLOBEX_AUTH).get("/v1/usage").then().statusCode(200);
        long acmeBefore = as(ACME_AUTH).get("/v1/usage").then().statusCode(200).extract().jsonPath()
                .getLong("tenants.acme.tokens.completion");
        long globexBefore = as(GLOBEX_AUTH).get("/v1/usage").jsonPath().getLong("tenants.globex.tokens.completion");
        Response done = complete(ACME_AUTH, greedy("Tom found a shiny key", 8));
        done.then().statusCode(200);
        int generated = done.jsonPath().getInt("usage.completion_tokens");
        Response acme = as(ACME_AUTH).get("/v1/usage");
        acme.then().statusCode(200).body("tenant", equalTo("acme")).body("operator", equalTo(false))
                .body("tenants.keySet()", equalTo(java.util.Set.of("acme")));
        assertEquals(acmeBefore + generated, acme.jsonPath().getLong("tenants.acme.tokens.completion"));
        assertTrue(acme.jsonPath().getDouble("tenants.acme.time_to_first_token_ms.p50") > 0);
        as(GLOBEX_AUTH).get("/v1/usage").then().body("tenants.keySet()", equalTo(java.util.Set.of("globex")))
                .body("tenants.globex.tokens.completion", equalTo((int) globexBefore));
        as(OPERATOR_AUTH).get("/v1/usage").then().statusCode(200).body("operator", equalTo(true))
                .body("tenants.keySet()", hasItem("acme"));
        given().get("/v1/usage").then().statusCode(401);
    }
}
