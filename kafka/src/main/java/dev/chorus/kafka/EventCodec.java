package dev.chorus.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
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

    public static final EventCodec<AdapterManifest> ADAPTER_MANIFEST = new EventCodec<>(AdapterManifest.class);
    public static final EventCodec<FeedbackEvent> FEEDBACK = new EventCodec<>(FeedbackEvent.class);
    public static final EventCodec<TrainingJobEvent> TRAINING_JOB = new EventCodec<>(TrainingJobEvent.class);

    private final Class<T> type;

    private EventCodec(Class<T> type) {
        this.type = type;
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
            return MAPPER.readValue(bytes, type);
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
