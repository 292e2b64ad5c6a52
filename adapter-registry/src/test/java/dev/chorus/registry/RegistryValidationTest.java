package dev.chorus.registry;

import static dev.chorus.registry.RegistryApiTest.as;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.kafka.embedded.EmbeddedKafkaResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every class of invalid upload gets its 4xx and leaves the catalogue and the blob directory as they were. */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class) // same resources in every registry test: one broker, one app
class RegistryValidationTest {

    static Map<String, byte[]> valid() {
        return TestUploads.files(AdapterType.LORA, 4, 77);
    }

    static Map<String, byte[]> withConfig(String from, String to) {
        Map<String, byte[]> files = new LinkedHashMap<>(valid());
        String config = new String(files.get(AdapterFiles.CONFIG), StandardCharsets.UTF_8);
        if (!config.contains(from)) {
            throw new AssertionError("test setup: " + from + " not in " + config);
        }
        files.put(AdapterFiles.CONFIG, config.replace(from, to).getBytes(StandardCharsets.UTF_8));
        return files;
    }

    static Stream<Arguments> invalidUploads() {
        Map<String, byte[]> truncated = new LinkedHashMap<>(valid());
        byte[] weights = truncated.get(AdapterFiles.WEIGHTS);
        truncated.put(AdapterFiles.WEIGHTS, Arrays.copyOf(weights, weights.length - 100));
        Map<String, byte[]> garbageHeader = new LinkedHashMap<>(valid());
        garbageHeader.put(AdapterFiles.WEIGHTS, "\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ffnot safetensors".getBytes(StandardCharsets.ISO_8859_1));
        ModelConfig b = TestUploads.base();
        ModelConfig wider = new ModelConfig(b.hiddenSize() * 2, b.intermediateSize(), b.numHeads(), b.numKvHeads(), b.numLayers(),
                b.vocabSize(), b.maxPositions(), b.rmsNormEps(), b.ropeTheta(), b.tiedEmbeddings(), b.bosId(), b.eosId(), b.ropeStyle());
        return Stream.of(
                Arguments.of("not a zip", "this is not a zip".getBytes(StandardCharsets.UTF_8), 422, "zip"),
                Arguments.of("weights missing", TestUploads.zip(Map.of(AdapterFiles.CONFIG, valid().get(AdapterFiles.CONFIG))), 422,
                        "needs both"),
                Arguments.of("path traversal", TestUploads.zip(Map.of("../" + AdapterFiles.CONFIG, valid().get(AdapterFiles.CONFIG))), 422,
                        "unsafe path"),
                Arguments.of("truncated weights", TestUploads.zip(truncated), 422, "safetensors"),
                Arguments.of("garbage header", TestUploads.zip(garbageHeader), 422, "safetensors"),
                Arguments.of("rank above the maximum", TestUploads.zip(TestUploads.files(AdapterType.LORA, 65, 1)), 422,
                        "exceeds the configured maximum 64"),
                Arguments.of("unknown target module", TestUploads.zip(withConfig("\"q_proj\"", "\"qq_proj\"")), 422, "qq_proj"),
                Arguments.of("config not JSON", TestUploads.zip(withConfig("{", "{{")), 422, "adapter_config.json"),
                Arguments.of("shapes of another model", TestUploads.zip(TestUploads.files(wider, AdapterType.LORA, 4, 1)), 422, "shape"),
                // Chorus writes its fields into the weights' header; the old config block still counts when read.
                Arguments.of("fingerprint of another base", TestUploads.zip(withConfig("\"peft_type\"", "\"chorus\" : {\"base_fingerprint\":\"sha256:"
                        + "0".repeat(64) + "\"}, \"peft_type\"")), 422, "but the served base is"),
                Arguments.of("empty body", new byte[0], 400, "zip body"),
                Arguments.of("over the size limit", new byte[5 * 1024 * 1024], 413, "exceeds"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidUploads")
    void rejectedAndNothingStored(String description, byte[] body, int status, String reason) {
        Response before = as(RegistryApiTest.ACME).get("/v1/tenants/acme/adapters");
        Set<String> blobsBefore = blobs();
        RegistryApiTest.uploadZip(RegistryApiTest.ACME, "acme", "invalid-" + status, body).then().statusCode(status)
                .body("error.message", containsString(reason));
        as(RegistryApiTest.ACME).get("/v1/tenants/acme/adapters").then().statusCode(200).body(equalTo(before.asString()));
        assertEquals(blobsBefore, blobs(), "no blob written");
    }

    static Set<String> blobs() {
        return new BlobStore(TestUploads.blobDir()).list();
    }
}
