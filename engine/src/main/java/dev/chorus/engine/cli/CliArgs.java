package dev.chorus.engine.cli;

import dev.chorus.engine.llama.Projection;
import java.util.EnumSet;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * "--name value" and "--flag" arguments of one command. Every option must be declared by the
 * command that reads it: leftovers are reported as unknown, typed getters check range and format.
 */
final class CliArgs {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final Set<String> read = new HashSet<>();

    CliArgs(List<String> args, Set<String> flagNames) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            if (flagNames.contains(name)) {
                flags.add(name);
            } else {
                if (i + 1 >= args.size()) {
                    throw new UsageException("option --" + name + " needs a value");
                }
                if (values.put(name, args.get(++i)) != null) {
                    throw new UsageException("option --" + name + " given twice");
                }
            }
        }
    }

    boolean flag(String name) {
        read.add(name);
        return flags.contains(name);
    }

    Optional<String> string(String name) {
        read.add(name);
        return Optional.ofNullable(values.get(name));
    }

    String requiredString(String name) {
        return string(name).orElseThrow(() -> new UsageException("missing required option --" + name));
    }

    Path requiredPath(String name) {
        return Path.of(requiredString(name));
    }

    Optional<Path> path(String name) {
        return string(name).map(Path::of);
    }

    int integer(String name, int fallback, int min, int max) {
        return string(name).map(v -> parseInt(name, v, min, max)).orElse(fallback);
    }

    long longValue(String name, long fallback) {
        return string(name).map(v -> {
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
            }
        }).orElse(fallback);
    }

    float number(String name, float fallback, float min, float max, boolean minExclusive) {
        return string(name).map(v -> {
            float f;
            try {
                f = Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be a number, got '" + v + "'");
            }
            boolean low = minExclusive ? !(f > min) : !(f >= min);
            if (low || !(f <= max)) {
                throw new UsageException("--" + name + " must be in " + (minExclusive ? "(" : "[") + min + ", " + max + "], got " + v);
            }
            return f;
        }).orElse(fallback);
    }

    /** Fails on options the command never asked about (typos, options of another command). */
    /** A named set of target projections: "all" or "qkvo"; empty for anything else. */
    static Optional<Set<Projection>> namedTargets(String text) {
        return switch (text) {
            case "all" -> Optional.of(EnumSet.allOf(Projection.class));
            case "qkvo" -> Optional.of(EnumSet.of(Projection.Q, Projection.K, Projection.V, Projection.O));
            default -> Optional.empty();
        };
    }

    /** --targets for commands that take only the named sets. */
    static Set<Projection> allOrQkvo(String text) {
        return namedTargets(text).orElseThrow(() -> new UsageException("--targets must be all or qkvo, got '" + text + "'"));
    }

    void rejectUnknown() {
        for (String name : values.keySet()) {
            if (!read.contains(name)) {
                throw new UsageException("unknown option --" + name);
            }
        }
        for (String name : flags) {
            if (!read.contains(name)) {
                throw new UsageException("unknown option --" + name);
            }
        }
    }

    private static int parseInt(String name, String v, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw new UsageException("--" + name + " must be between " + min + " and " + max + ", got " + n);
        }
        return n;
    }
}
