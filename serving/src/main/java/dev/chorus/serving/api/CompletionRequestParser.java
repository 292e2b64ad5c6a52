package dev.chorus.serving.api;

import dev.chorus.edge.http.JsonBodies;
import dev.chorus.edge.http.RequestRejectedException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Turns a /v1/completions or /v1/chat/completions body into a {@link CompletionRequest}, with
 * OpenAI's defaults and ranges. Every rejection names the offending parameter; unknown fields are
 * ignored as OpenAI does.
 */
public final class CompletionRequestParser {
    static final int DEFAULT_MAX_TOKENS = 16;
    static final int MAX_STOP_STRINGS = 4;
    /** Chat requests without a token limit generate until the context is full (or a stop). */
    static final int UNTIL_CONTEXT_END = -1;
    private static final List<String> CHAT_ROLES = List.of("system", "developer", "user", "assistant");

    private CompletionRequestParser() {
    }

    public static CompletionRequest parse(Buffer body) {
        JsonObject json = object(body);
        rejectUnsupported(json);
        return request(json, prompt(json.getValue("prompt")), null, integer(json, "max_tokens", DEFAULT_MAX_TOKENS, 1));
    }

    public static CompletionRequest parseChat(Buffer body) {
        JsonObject json = object(body);
        rejectUnsupportedChat(json);
        List<ChatMessage> messages = messages(json.getValue("messages"));
        // max_completion_tokens is the current name; max_tokens the deprecated one. No limit means up to the context.
        int maxTokens = json.getValue("max_completion_tokens") != null
                ? integer(json, "max_completion_tokens", 0, 1)
                : integer(json, "max_tokens", UNTIL_CONTEXT_END, 1);
        return request(json, null, messages, maxTokens);
    }

    private static CompletionRequest request(JsonObject json, String prompt, List<ChatMessage> messages, int maxTokens) {
        boolean stream = bool(json, "stream", false);
        return new CompletionRequest(
                Optional.ofNullable(string(json, "model")),
                prompt,
                messages,
                maxTokens,
                (float) number(json, "temperature", 1.0, 0.0, 2.0),
                topP(json),
                integer(json, "top_k", 0, 0),
                seed(json),
                stop(json.getValue("stop")),
                stream,
                includeUsage(json, stream));
    }

    static JsonObject object(Buffer body) {
        try {
            return JsonBodies.object(body);
        } catch (RequestRejectedException e) {
            throw OpenAiErrors.invalid(e.getMessage(), null);
        }
    }

    private static void rejectUnsupported(JsonObject json) {
        int n = integer(json, "n", 1, 1);
        if (n != 1) {
            throw OpenAiErrors.invalid("only n = 1 is supported", "n");
        }
        Object bestOf = json.getValue("best_of");
        if (bestOf != null && !(bestOf instanceof Number number && number.doubleValue() == 1)) {
            throw OpenAiErrors.invalid("only best_of = 1 is supported", "best_of");
        }
        if (bool(json, "echo", false)) {
            throw OpenAiErrors.invalid("echo is not supported", "echo");
        }
        if (json.getValue("logprobs") != null) {
            throw OpenAiErrors.invalid("logprobs is not supported", "logprobs");
        }
        Object suffix = json.getValue("suffix");
        if (suffix != null && !"".equals(suffix)) {
            throw OpenAiErrors.invalid("suffix is not supported", "suffix");
        }
    }

    private static void rejectUnsupportedChat(JsonObject json) {
        int n = integer(json, "n", 1, 1);
        if (n != 1) {
            throw OpenAiErrors.invalid("only n = 1 is supported", "n");
        }
        Object logprobs = json.getValue("logprobs");
        if (logprobs != null && !Boolean.FALSE.equals(logprobs)) {
            throw OpenAiErrors.invalid("logprobs is not supported", "logprobs");
        }
        for (String field : List.of("tools", "functions", "top_logprobs", "audio")) {
            if (json.getValue(field) != null) {
                throw OpenAiErrors.invalid(field + " is not supported", field);
            }
        }
        Object format = json.getValue("response_format");
        if (format != null && !(format instanceof JsonObject f && "text".equals(f.getValue("type")))) {
            throw OpenAiErrors.invalid("only response_format {\"type\": \"text\"} is supported", "response_format");
        }
    }

    static List<ChatMessage> messages(Object value) {
        if (value == null) {
            throw OpenAiErrors.invalid("messages is required", "messages");
        }
        if (!(value instanceof JsonArray array) || array.isEmpty()) {
            throw OpenAiErrors.invalid("messages must be a non-empty array of {role, content} objects", "messages");
        }
        List<ChatMessage> messages = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            String where = "messages[" + i + "]";
            if (!(array.getValue(i) instanceof JsonObject message)) {
                throw OpenAiErrors.invalid(where + " must be an object with role and content", "messages");
            }
            if (!(message.getValue("role") instanceof String role) || !CHAT_ROLES.contains(role)) {
                throw OpenAiErrors.invalid(where + ".role must be one of " + String.join(", ", CHAT_ROLES), "messages");
            }
            messages.add(new ChatMessage(role, content(message.getValue("content"), where)));
        }
        return List.copyOf(messages);
    }

    /** A string, or an array of {"type": "text", "text": ...} parts joined together. */
    private static String content(Object value, String where) {
        if (value instanceof String text) {
            return text;
        }
        if (value instanceof JsonArray parts) {
            StringBuilder text = new StringBuilder();
            for (Object part : parts) {
                if (!(part instanceof JsonObject p) || !"text".equals(p.getValue("type")) || !(p.getValue("text") instanceof String t)) {
                    throw OpenAiErrors.invalid(where + ".content parts must be {\"type\": \"text\", \"text\": ...}; only text is supported",
                            "messages");
                }
                text.append(t);
            }
            return text.toString();
        }
        throw OpenAiErrors.invalid(where + ".content must be a string or an array of text parts", "messages");
    }

    static String prompt(Object value) {
        if (value instanceof String text) {
            return text;
        }
        if (value instanceof JsonArray array && array.size() == 1 && array.getValue(0) instanceof String text) {
            return text;
        }
        if (value == null) {
            throw OpenAiErrors.invalid("prompt is required", "prompt");
        }
        throw OpenAiErrors.invalid("prompt must be a string or an array holding exactly one string", "prompt");
    }

    private static float topP(JsonObject json) {
        double topP = number(json, "top_p", 1.0, 0.0, 1.0);
        if (topP <= 0.0) {
            throw OpenAiErrors.invalid("top_p must be in (0, 1], got " + topP, "top_p");
        }
        return (float) topP;
    }

    private static OptionalLong seed(JsonObject json) {
        Object value = json.getValue("seed");
        if (value == null) {
            return OptionalLong.empty();
        }
        Long seed = asLong(value);
        if (seed == null) {
            throw OpenAiErrors.invalid("seed must be an integer", "seed");
        }
        return OptionalLong.of(seed);
    }

    private static List<String> stop(Object value) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof String text) {
            return List.of(text);
        }
        if (value instanceof JsonArray array) {
            if (array.size() > MAX_STOP_STRINGS) {
                throw OpenAiErrors.invalid("stop holds at most " + MAX_STOP_STRINGS + " strings", "stop");
            }
            List<String> stops = new ArrayList<>(array.size());
            for (Object item : array) {
                if (!(item instanceof String text)) {
                    throw OpenAiErrors.invalid("stop must be a string or an array of strings", "stop");
                }
                stops.add(text);
            }
            return List.copyOf(stops);
        }
        throw OpenAiErrors.invalid("stop must be a string or an array of strings", "stop");
    }

    private static boolean includeUsage(JsonObject json, boolean stream) {
        Object value = json.getValue("stream_options");
        if (value == null) {
            return false;
        }
        if (!(value instanceof JsonObject options)) {
            throw OpenAiErrors.invalid("stream_options must be an object", "stream_options");
        }
        if (!stream) {
            throw OpenAiErrors.invalid("stream_options is only allowed when stream is true", "stream_options");
        }
        return bool(options, "include_usage", false);
    }

    private static String string(JsonObject json, String field) {
        Object value = json.getValue(field);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw OpenAiErrors.invalid(field + " must be a string", field);
    }

    private static boolean bool(JsonObject json, String field, boolean absent) {
        Object value = json.getValue(field);
        if (value == null) {
            return absent;
        }
        if (value instanceof Boolean flag) {
            return flag;
        }
        throw OpenAiErrors.invalid(field + " must be a boolean", field);
    }

    private static int integer(JsonObject json, String field, int absent, int min) {
        Object value = json.getValue(field);
        if (value == null) {
            return absent;
        }
        Long number = asLong(value);
        if (number == null) {
            throw OpenAiErrors.invalid(field + " must be an integer", field);
        }
        if (number < min) {
            throw OpenAiErrors.invalid(field + " must be >= " + min + ", got " + number, field);
        }
        return (int) Math.min(number, Integer.MAX_VALUE); // huge values fail the context check later
    }

    private static double number(JsonObject json, String field, double absent, double min, double max) {
        Object value = json.getValue(field);
        if (value == null) {
            return absent;
        }
        if (!(value instanceof Number number)) {
            throw OpenAiErrors.invalid(field + " must be a number", field);
        }
        double v = number.doubleValue();
        if (!(v >= min && v <= max)) {
            throw OpenAiErrors.invalid(field + " must be between " + min + " and " + max + ", got " + number, field);
        }
        return v;
    }

    /** Integral JSON numbers only: 16 yes, 16.5 and "16" no. */
    private static Long asLong(Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof BigInteger big && big.bitLength() < 64) {
            return big.longValue();
        }
        return null;
    }
}
