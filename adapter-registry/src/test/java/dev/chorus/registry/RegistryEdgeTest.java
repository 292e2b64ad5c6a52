package dev.chorus.registry;

import static dev.chorus.registry.RegistryApiTest.ACME;
import static dev.chorus.registry.RegistryApiTest.as;
import static dev.chorus.registry.RegistryApiTest.uploadZip;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the registry's HTTP edge answers to requests it cannot serve: always JSON, never a 500 or an ERROR line. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class RegistryEdgeTest {
    static final int LIMIT = 4 * 1024 * 1024; // %test.chorus.registry.max-upload-bytes

    final List<LogRecord> errors = new CopyOnWriteArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
                errors.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureErrors() {
        Logger.getLogger("").addHandler(capture);
    }

    @AfterEach
    void release() {
        Logger.getLogger("").removeHandler(capture);
    }

    @Test
    void aZipSentAsAFormIsRefusedAsTheWrongMediaType() throws IOException {
        byte[] zip = TestUploads.zip(AdapterType.LORA, 4, 11);
        String answer = exchange("PUT /v1/tenants/acme/adapters/form HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + ACME
                + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + zip.length + "\r\n\r\n", out -> out.write(zip));
        assertTrue(answer.startsWith("HTTP/1.1 415"), answer);
        assertTrue(answer.contains("\"unsupported_media_type\"") && answer.contains("application/zip"), answer);
        assertEquals(List.of(), messages(), "nothing logged at ERROR");
    }

    @Test
    void promoteTakesOnlyAnExactVersionNumber() {
        uploadZip(ACME, "acme", "exact", TestUploads.zip(AdapterType.LORA, 4, 12)).then().statusCode(201);
        uploadZip(ACME, "acme", "exact", TestUploads.zip(AdapterType.LORA, 4, 13)).then().statusCode(201);
        for (String body : List.of("{\"version\": 4294967297}", "{\"version\": 2.9}", "{\"version\": \"2\"}", "{\"version\": 1e0}",
                "{\"version\": 0}", "{\"version\": null}", "[2]", "{\"version\": 2")) {
            as(ACME).contentType("application/json").body(body).post("/v1/tenants/acme/adapters/exact/promote")
                    .then().statusCode(400).body("error.code", equalTo("invalid_request"))
                    .body("error.message", not(containsString("java."))).body("error.message", not(containsString("`")));
        }
        as(ACME).get("/v1/tenants/acme/adapters/exact").then().statusCode(200).body("active_version", equalTo(1));
        as(ACME).contentType("application/json").body("{\"version\": 2}").post("/v1/tenants/acme/adapters/exact/promote")
                .then().statusCode(200).body("active_version", equalTo(2));
    }

    @Test
    void unknownRoutesAndWrongMethodsGetJson() {
        as(ACME).get("/v1/nothing/here").then().statusCode(404).contentType("application/json")
                .body("error.code", equalTo("not_found")).body("error.message", containsString("/v1/nothing/here"));
        given().get("/").then().statusCode(404).contentType("application/json");
        as(ACME).patch("/v1/tenants/acme/adapters/x").then().statusCode(405).contentType("application/json")
                .body("error.code", equalTo("method_not_allowed"));
    }

    @Test
    void aBodyOverTheLimitGetsJson413WhetherSizedOrChunked() throws IOException {
        // 12 MiB: beyond both this endpoint's limit and the HTTP layer's default cut-off (10 MiB), which used to answer first, empty.
        byte[] big = new byte[12 * 1024 * 1024];
        as(ACME).contentType("application/zip").body(big).put("/v1/tenants/acme/adapters/big")
                .then().statusCode(413).contentType("application/json").body("error.code", equalTo("too_large"))
                .body("error.message", containsString(Integer.toString(LIMIT)));
        // Chunked (no Content-Length): the same limit, the same answer.
        String head = "PUT /v1/tenants/acme/adapters/big HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + ACME
                + "\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\n\r\n";
        String answer = exchange(head, out -> {
            byte[] chunk = new byte[256 * 1024];
            for (int sent = 0; sent <= LIMIT; sent += chunk.length) {
                out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(chunk);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        });
        assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
        assertTrue(answer.contains("\"too_large\""), answer);
        // The promote route has its own, small limit.
        as(ACME).contentType("application/json").body(new byte[100_000]).post("/v1/tenants/acme/adapters/big/promote")
                .then().statusCode(413).contentType("application/json").body("error.message", containsString("65536"));
    }

    @Test
    void anotherTenantsPathIsRefusedBeforeItsBodyIsRead() throws IOException {
        // Headers announce 1 MB but no body byte is sent: the answer must come anyway.
        String head = "PUT /v1/tenants/globex/adapters/mine HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + ACME
                + "\r\nContent-Type: application/zip\r\nContent-Length: 1000000\r\n\r\n";
        String answer = exchange(head, out -> { });
        assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
        assertTrue(answer.contains("\"forbidden\""), answer);
    }

    @Test
    void aClientThatDropsMidUploadIsNotAServerError() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Socket socket = new Socket("localhost", RestAssured.port)) {
                OutputStream out = socket.getOutputStream();
                out.write(("PUT /v1/tenants/acme/adapters/dropped HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + ACME
                        + "\r\nContent-Type: application/zip\r\nContent-Length: 1000000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[200_000]);
                out.flush();
            } // closed mid-body
        }
        // The server notices the closed connections asynchronously; a later request on a fresh connection is served after them.
        Thread.sleep(500);
        as(ACME).get("/v1/tenants/acme/adapters").then().statusCode(200);
        assertEquals(List.of(), messages(), "a dropped client is not logged at ERROR");
        as(ACME).get("/v1/tenants/acme/adapters/dropped").then().statusCode(404);
    }

    interface Body {
        void write(OutputStream out) throws IOException;
    }

    /** Sends a raw request and returns the status line, headers and (part of) the body that came back within 10 s. */
    static String exchange(String head, Body body) throws IOException {
        try (Socket socket = new Socket("localhost", RestAssured.port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            try {
                body.write(out);
                out.flush();
            } catch (IOException e) {
                // the server may answer and close before the whole body is sent
            }
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[4096];
            StringBuilder text = new StringBuilder();
            int n;
            try {
                while (!text.toString().contains("}}") && (n = in.read(buffer)) > 0) {
                    text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // a reset after the answer
            }
            return text.toString();
        }
    }

    private List<String> messages() {
        return errors.stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList();
    }
}
