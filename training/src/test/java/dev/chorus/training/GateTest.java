package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GateTest {
    @Test
    void promotesOnlyWhatIsNotWorseOnTheHeldOutSet() {
        Gate strict = new Gate(0);
        assertTrue(strict.passes(2.0, 1.9, 5));
        assertTrue(strict.passes(2.0, 2.0, 5), "equal is not worse");
        assertFalse(strict.passes(2.0, 2.01, 5));
        assertTrue(new Gate(0.05).passes(2.0, 2.04, 5), "within the tolerance");
        assertTrue(strict.passes(null, 3.0, 5), "no active version to beat");
        assertFalse(strict.passes(2.0, 1.0, 0), "no held-out examples: nothing to judge by");
        assertFalse(strict.passes(2.0, Double.NaN, 5));
        assertThrows(IllegalArgumentException.class, () -> new Gate(-0.1));
    }
}
