package dev.chorus.training;

/**
 * The evaluation gate before a promote: a new version goes live only if its loss on the adapter's
 * fixed held-out set is not worse than the active version's, give or take {@code tolerance}.
 * With no held-out examples there is nothing to judge by, and nothing is promoted blind.
 */
record Gate(double tolerance) {
    Gate {
        if (tolerance < 0 || Double.isNaN(tolerance)) {
            throw new IllegalArgumentException("tolerance must be >= 0");
        }
    }

    /** Whether a version with held-out loss {@code candidate} may replace one with {@code active} (null: no version yet). */
    boolean passes(Double active, double candidate, int heldOutExamples) {
        if (heldOutExamples == 0 || !Double.isFinite(candidate)) {
            return false;
        }
        return active == null || candidate <= active + tolerance;
    }
}
