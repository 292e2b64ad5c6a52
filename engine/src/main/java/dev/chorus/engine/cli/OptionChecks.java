package dev.chorus.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Range and existence checks for the options records' constructors; failures are usage errors. */
final class OptionChecks {
    private OptionChecks() {
    }

    static int between(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new UsageException("--" + option + " must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    /** {@code value} in [min, max], or (min, max] when {@code minExclusive}. */
    static float within(String option, float value, float min, float max, boolean minExclusive) {
        boolean low = minExclusive ? !(value > min) : !(value >= min);
        if (low || !(value <= max)) {
            throw new UsageException("--" + option + " must be in " + (minExclusive ? "(" : "[") + min + ", " + max + "], got " + value);
        }
        return value;
    }

    /** Commands that write a new directory refuse to overwrite anything. */
    static void absent(Path out) {
        if (Files.exists(out)) {
            throw new UsageException(out + " already exists; choose a new --out directory");
        }
    }
}
