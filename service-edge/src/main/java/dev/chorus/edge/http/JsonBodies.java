package dev.chorus.edge.http;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Request bodies that must be one JSON object. Errors say where the text stopped being JSON or what
 * was sent instead of an object, in words: the decoder's own messages name Java classes.
 */
public final class JsonBodies {
    private JsonBodies() {
    }

    /** The body as a JSON object; throws {@link RequestRejectedException} ({@code INVALID_BODY}) otherwise. */
    public static JsonObject object(Buffer body) {
        if (body == null || body.length() == 0) {
            throw invalid("the request body must be a JSON object");
        }
        Object value;
        try {
            value = Json.decodeValue(body);
        } catch (DecodeException e) {
            throw invalid("the request body is not valid JSON" + where(e.getCause()));
        }
        if (value instanceof JsonObject json) {
            return json;
        }
        throw invalid("the request body must be a JSON object, not " + kind(value));
    }

    /**
     * An exact integer in [min, max] at {@code field}: 2.9, 1e3, "3" and numbers beyond the range are
     * refused rather than truncated or wrapped. Null when absent.
     */
    public static Long integer(JsonObject json, String field, long min, long max) {
        Object value = json.getValue(field);
        if (value == null) {
            return null;
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            long v = ((Number) value).longValue();
            if (v >= min && v <= max) {
                return v;
            }
        }
        throw invalid(field + " must be an integer from " + min + " to " + max);
    }

    private static String where(Throwable cause) {
        if (cause instanceof JsonProcessingException p && p.getLocation() != null) {
            JsonLocation at = p.getLocation();
            return " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        }
        return "";
    }

    private static String kind(Object value) {
        if (value instanceof JsonArray) {
            return "an array";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Number) {
            return "a number";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        return "null";
    }

    private static RequestRejectedException invalid(String message) {
        return new RequestRejectedException(RequestRejectedException.Reason.INVALID_BODY, message);
    }
}
