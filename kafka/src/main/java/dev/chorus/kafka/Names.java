package dev.chorus.kafka;

import java.util.regex.Pattern;

/** The one rule for tenant and adapter names, shared by every event, service and directory layout. */
public final class Names {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private Names() {
    }

    public static boolean valid(String name) {
        return name != null && SAFE.matcher(name).matches();
    }

    static String require(String field, String value) {
        if (!valid(value)) {
            throw new IllegalArgumentException(field + " must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return value;
    }

    static <T> T present(String field, T value) {
        if (value == null) {
            throw new IllegalArgumentException(field + " is required");
        }
        return value;
    }
}
