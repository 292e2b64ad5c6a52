package dev.chorus.training;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** OpenAI's Files API: upload with line-by-line checks, list, read, content, delete, tenancy and limits. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class FilesApiTest {
    @jakarta.inject.Inject
    DataDirectory data;

    static final String ACME = "Bearer acme-key";
    static final String GLOBEX = "Bearer globex-key";
    static final String SUPERVISED = """
            {"messages": [{"role": "user", "content": "Tell me about the cat."}, {"role": "assistant", "content": "Arr, the cat sailed."}]}
            {"prompt": "Tell me about the dog.", "completion": " Arr, the dog sailed."}
            """;
    static final String PREFERENCE = """
            {"input": {"messages": [{"role": "user", "content": "Tell me about the cat."}]}, "preferred_output": [{"role": "assistant", "content": "Arr!"}], "non_preferred_output": [{"role": "assistant", "content": "Meow."}]}
            """;

    static RequestSpecification as(String auth) {
        return auth == null ? given() : given().header("Authorization", auth);
    }

    static Response upload(String auth, String name, String content) {
        return upload(auth, name, content.getBytes(StandardCharsets.UTF_8));
    }

    static Response upload(String auth, String name, byte[] content) {
        return as(auth).multiPart("file", name, content, "application/jsonl").multiPart("purpose", "fine-tune").post("/v1/files");
    }

    @Test
    void uploadListReadDownloadDelete() {
        Response created = upload(ACME, "train.jsonl", SUPERVISED);
        created.then().statusCode(200).body("object", equalTo("file")).body("purpose", equalTo("fine-tune"))
                .body("filename", equalTo("train.jsonl")).body("bytes", equalTo(SUPERVISED.getBytes(StandardCharsets.UTF_8).length))
                .body("id", org.hamcrest.Matchers.startsWith("file-")).body("chorus.kind", equalTo("supervised"))
                .body("chorus.examples", equalTo(2));
        String id = created.path("id");
        upload(ACME, "prefs.jsonl", PREFERENCE).then().statusCode(200).body("chorus.kind", equalTo("preference"));

        as(ACME).get("/v1/files").then().statusCode(200).body("object", equalTo("list")).body("data.id", hasItem(id));
        as(ACME).get("/v1/files?purpose=batch").then().statusCode(200).body("data.id", not(hasItem(id)));
        as(ACME).get("/v1/files/" + id).then().statusCode(200).body("id", equalTo(id)).body("created_at", org.hamcrest.Matchers.notNullValue());
        byte[] content = as(ACME).get("/v1/files/" + id + "/content").then().statusCode(200).extract().asByteArray();
        assertArrayEquals(SUPERVISED.getBytes(StandardCharsets.UTF_8), content, "the bytes as uploaded");

        as(GLOBEX).get("/v1/files/" + id).then().statusCode(404).body("error.code", equalTo("not_found"));
        as(GLOBEX).get("/v1/files/" + id + "/content").then().statusCode(404);
        as(GLOBEX).delete("/v1/files/" + id).then().statusCode(404);
        as(GLOBEX).get("/v1/files").then().statusCode(200).body("data.id", not(hasItem(id)));
        as("Bearer operator-key").get("/v1/files/" + id).then().statusCode(200);
        as(null).get("/v1/files").then().statusCode(401);
        as(null).get("/v1/files/" + id).then().statusCode(401);
        upload(null, "train.jsonl", SUPERVISED).then().statusCode(401);

        as(ACME).delete("/v1/files/" + id).then().statusCode(200).body("deleted", equalTo(true)).body("id", equalTo(id));
        as(ACME).get("/v1/files/" + id).then().statusCode(404);
        as(ACME).get("/v1/files/" + id + "/content").then().statusCode(404);
    }

    @Test
    void everyClassOfBadFileIsA400NamingItsLineAndNothingIsStored() throws java.io.IOException {
        int before = as(ACME).get("/v1/files").path("data.size()");
        java.nio.file.Path files = data.root().resolve("files");
        long storedBefore = stored(files);
        String good = "{\"prompt\": \"a\", \"completion\": \" b\"}\n";
        Map<String, String> bad = Map.of(
                good + "not json\n", "line 2: not a JSON object",
                good + "{\"text\": \"hello\"}\n", "line 2: expected",
                good + "{\"messages\": []}\n", "line 2: messages must be an array of at least two messages",
                good + "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]}\n",
                "line 2: the last message must be the assistant's",
                "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}, \"preferred_output\": [{\"role\": \"assistant\", "
                        + "\"content\": \"b\"}]}\n", "line 1: a preference needs input.messages and exactly one message",
                good + PREFERENCE, "line 2: a preference line in a file of supervised lines",
                "\n\n", "no examples");
        bad.forEach((content, message) -> upload(ACME, "bad.jsonl", content).then().statusCode(400)
                .body("error.code", equalTo("invalid_file")).body("error.param", equalTo("file")).body("error.message", containsString(message)));
        as(ACME).multiPart("file", "x.jsonl", good.getBytes(StandardCharsets.UTF_8)).multiPart("purpose", "assistants").post("/v1/files")
                .then().statusCode(400).body("error.param", equalTo("purpose"));
        upload(ACME, "big.jsonl", new byte[1_100_000]).then().statusCode(413).body("error.code", equalTo("file_too_large"));
        as(ACME).get("/v1/files").then().body("data.size()", equalTo(before));
        org.junit.jupiter.api.Assertions.assertEquals(storedBefore, stored(files), "no record, blob or upload left on disk");
    }

    /** Regular files under {@code dir}: records, blobs and uploads in flight. */
    static long stored(java.nio.file.Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.walk(dir)) {
            return all.filter(java.nio.file.Files::isRegularFile).count();
        }
    }

    @Test
    void theSameBytesAreStoredOnceAndSurviveTheOtherCopysDeletion() {
        String a = upload(ACME, "a.jsonl", SUPERVISED).path("id");
        String b = upload(ACME, "b.jsonl", SUPERVISED).path("id");
        as(ACME).delete("/v1/files/" + a).then().statusCode(200);
        as(ACME).get("/v1/files/" + b + "/content").then().statusCode(200).body(equalTo(SUPERVISED));
        as(ACME).get("/v1/files").then().body("data.id", hasItem(b)).body("data.id", not(hasItem(a)));
        List.of(b).forEach(id -> as(ACME).delete("/v1/files/" + id).then().statusCode(200));
    }
}
