package dev.chorus.engine.cli;

import dev.chorus.engine.llama.Projection;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * "--name value" and "--flag" arguments of one command. Every option must be declared by the
 * command that reads it: leftovers are reported as unknown, typed getters check the format (ranges
 * are for each command's options record). --help or -h in place of an option asks for the usage.
 */
final class CliArgs {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final Set<String> read = new HashSet<>();

    CliArgs(List<String> args, Set<String> flagNames) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--help") || a.equals("-h")) {
                throw new HelpRequested();
            }
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

    /** The option's value as an integer, if given; its range is the options record's to check. */
    Optional<Integer> integer(String name) {
        return string(name).map(v -> {
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
            }
        });
    }

    Optional<Long> longValue(String name) {
        return string(name).map(v -> {
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
            }
        });
    }

    Optional<Float> number(String name) {
        return string(name).map(v -> {
            try {
                return Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be a number, got '" + v + "'");
            }
        });
    }

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

    /** all, qkvo, or a comma list of q,k,v,o,gate,up,down (or their PEFT names). */
    static Set<Projection> targets(String text) {
        try {
            return Projection.parseSet(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--targets: " + e.getMessage());
        }
    }

    /** Fails on options the command never asked about (typos, options of another command). */
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
}
