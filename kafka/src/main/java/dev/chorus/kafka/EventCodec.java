package dev.chorus.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.function.UnaryOperator;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * JSON for one event type. Decoding is strict: missing required fields, wrong types, an unknown
 * schema version or a violated invariant give an {@link EventFormatException} that says what is
 * wrong; unknown extra fields are ignored, so newer producers can add optional ones.
 */
public final class EventCodec<T> implements Serializer<T>, Deserializer<T> {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * Reads schemas 1 and 2 too: schema 1's versions lacked provenance, schema 2's the merged
     * artifact, which are absent there.
     */
    public static final EventCodec<AdapterManifest> ADAPTER_MANIFEST = new EventCodec<>(AdapterManifest.class,
            inOrder(upgradeFrom(1, 2, "versions[].provenance"), upgradeFrom(2, AdapterManifest.SCHEMA_VERSION, "versions[].merged")));
    /** Reads schema 1 too: it lacked requestId, messages and metadata, which are absent there. */
    public static final EventCodec<FeedbackEvent> FEEDBACK = new EventCodec<>(FeedbackEvent.class,
            upgradeFrom(1, FeedbackEvent.SCHEMA_VERSION, "requestId", "messages", "metadata"));
    /** Reads schemas 1 and 2 too: each lacked the fields the next added, which are absent there. */
    public static final EventCodec<TrainingJobEvent> TRAINING_JOB = new EventCodec<>(TrainingJobEvent.class, tree -> upgradeFrom(2, 3,
            "request", "errorParam", "events").apply(upgradeFrom(1, 2, "createdAt", "errorCode", "promoted", "metrics", "trainedTokens",
                    "trainedThrough", "attempt", "runner").apply(tree)));
    public static final EventCodec<TrainingExample> TRAINING_EXAMPLE = new EventCodec<>(TrainingExample.class, UnaryOperator.identity());

    private final Class<T> type;
    private final UnaryOperator<JsonNode> upgrade;

    private EventCodec(Class<T> type, UnaryOperator<JsonNode> upgrade) {
        this.type = type;
        this.upgrade = upgrade;
    }

    /**
     * Lifts a record of schema {@code from} to {@code to} by adding the fields {@code to} introduced
     * as null; every other record passes unchanged, so the record's own checks still judge it.
     */
    private static UnaryOperator<JsonNode> upgradeFrom(int from, int to, String... added) {
        return tree -> {
            if (tree instanceof ObjectNode o && o.path("schemaVersion").isInt() && o.get("schemaVersion").intValue() == from) {
                o.put("schemaVersion", to);
                for (String field : added) {
                    addNull(o, field);
                }
            }
            return tree;
        };
    }

    /** Applies the upgrades one after the other, so a record climbs every step from its schema. */
    @SafeVarargs
    private static UnaryOperator<JsonNode> inOrder(UnaryOperator<JsonNode>... steps) {
        return tree -> {
            JsonNode t = tree;
            for (UnaryOperator<JsonNode> step : steps) {
                t = step.apply(t);
            }
            return t;
        };
    }

    /** Adds {@code field} as null where absent; "list[].field" adds it to every object of the array {@code list}. */
    private static void addNull(ObjectNode o, String field) {
        int split = field.indexOf("[].");
        if (split < 0) {
            if (!o.has(field)) {
                o.putNull(field);
            }
            return;
        }
        for (JsonNode element : o.path(field.substring(0, split))) {
            if (element instanceof ObjectNode item) {
                addNull(item, field.substring(split + 3));
            }
        }
    }

    public byte[] encode(T event) {
        try {
            return MAPPER.writeValueAsBytes(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new EventFormatException(type.getSimpleName() + ": empty record");
        }
        try {
            return MAPPER.treeToValue(upgrade.apply(MAPPER.readTree(bytes)), type);
        } catch (JsonMappingException e) {
            Throwable cause = e.getCause();
            String reason = cause instanceof IllegalArgumentException ? cause.getMessage() : e.getOriginalMessage();
            throw new EventFormatException(type.getSimpleName() + ": " + reason + location(e), e);
        } catch (IOException e) {
            throw new EventFormatException(type.getSimpleName() + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    private static String location(JsonMappingException e) {
        String path = e.getPathReference();
        return path == null || path.isEmpty() ? "" : " (at " + path.replaceAll("^[^\\[]*", "").replace("\"", "'") + ")";
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : encode(data); // null = tombstone
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        return data == null ? null : decode(data);
    }

    @Override
    public void configure(java.util.Map<String, ?> configs, boolean isKey) {
        // nothing to configure
    }

    @Override
    public void close() {
        // stateless
    }
}
