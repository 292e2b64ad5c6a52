package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.Sha256;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client against a stub speaking the registry's HTTP API: this module must not link the
 * registry's code, and a unit test cannot start the registry service (the tests module runs the
 * real loop with separate processes).
 */
class RegistryClientTest {
    static final byte[] BLOB = "PK-not-really-a-zip".getBytes(StandardCharsets.UTF_8);
    static final String SHA = Sha256.hex(BLOB);

    HttpServer server;
    RegistryClient client;
    final List<String> seen = new CopyOnWriteArrayList<>();
    final List<String> provenance = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::answer);
        server.start();
        client = new RegistryClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"), "operator-key",
                Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void answer(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        byte[] body = x.getRequestBody().readAllBytes();
        seen.add(x.getRequestMethod() + " " + path + " " + x.getRequestHeaders().getFirst("Authorization") + " " + body.length);
        if (x.getRequestHeaders().containsKey("Chorus-Provenance")) {
            provenance.add(x.getRequestHeaders().getFirst("Chorus-Provenance"));
        }
        String manifest = "{\"tenant\":\"acme\",\"name\":\"pirate\",\"active_version\":1,\"versions\":[{\"version\":1,\"sha256\":\""
                + SHA + "\"},{\"version\":2,\"sha256\":\"ff\"}]}";
        switch (x.getRequestMethod() + " " + path) {
            case "GET /v1/tenants/acme/adapters/pirate" -> reply(x, 200, manifest.getBytes(StandardCharsets.UTF_8));
            case "GET /v1/blobs/" + "bad" -> reply(x, 200, "tampered".getBytes(StandardCharsets.UTF_8));
            case "PUT /v1/tenants/acme/adapters/pirate" -> reply(x, 201, manifest.getBytes(StandardCharsets.UTF_8));
            case "POST /v1/tenants/acme/adapters/pirate/promote" -> reply(x, 200, manifest.getBytes(StandardCharsets.UTF_8));
            case "POST /v1/tenants/acme/adapters/broken/promote" -> reply(x, 400, "{\"error\":{\"message\":\"no\"}}".getBytes());
            default -> {
                if (path.equals("/v1/blobs/" + SHA)) {
                    reply(x, 200, BLOB);
                } else {
                    reply(x, 404, "{\"error\":{\"message\":\"unknown\"}}".getBytes(StandardCharsets.UTF_8));
                }
            }
        }
    }

    private static void reply(HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
        x.close();
    }

    @Test
    void readsTheActiveVersionAndItsVerifiedBlob() {
        RegistryClient.ActiveVersion active = client.active("acme", "pirate").orElseThrow();
        assertEquals(new RegistryClient.ActiveVersion(1, SHA), active);
        assertArrayEquals(BLOB, client.blob(active.sha256()));
        assertTrue(seen.get(0).contains("Bearer operator-key"), "with the operator key: " + seen);
        assertFalse(client.active("acme", "nothing").isPresent(), "404: the tenant has no such adapter yet");
        RegistryException e = assertThrows(RegistryException.class, () -> client.blob("bad"));
        assertTrue(e.getMessage().contains("arrived as"), e.getMessage());
    }

    @Test
    void uploadsANewVersionAndPromotesIt() {
        var from = new AdapterManifest.Provenance(1, "ftjob-abc", Map.of("held_out_loss", 2.5), new AdapterManifest.GateVerdict(true, "ok"));
        assertEquals(2, client.upload("acme", "pirate", BLOB, from), "the newest version in the answered manifest");
        assertEquals(List.of("{\"parent_version\":1,\"job_id\":\"ftjob-abc\",\"metrics\":{\"held_out_loss\":2.5},"
                + "\"gate\":{\"passed\":true,\"reason\":\"ok\"}}"), provenance, "what produced the version, in the registry's form");
        client.promote("acme", "pirate", 2);
        assertTrue(seen.contains("PUT /v1/tenants/acme/adapters/pirate Bearer operator-key " + BLOB.length), seen.toString());
        assertTrue(seen.contains("POST /v1/tenants/acme/adapters/pirate/promote Bearer operator-key 13"), seen.toString());
        RegistryException e = assertThrows(RegistryException.class, () -> client.promote("acme", "broken", 2));
        assertTrue(e.getMessage().contains("400"), e.getMessage());
    }

    @Test
    void anUnreachableRegistryIsARegistryException() {
        server.stop(0);
        assertThrows(RegistryException.class, () -> client.active("acme", "pirate"));
    }
}
