package dev.chorus.engine.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {
    @Test
    void withoutStopsEverythingPassesThrough() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("abc", m.accept("abc"));
        assertEquals("", m.flush());
    }

    @Test
    void holdsBackAPossibleStartAndReleasesItWhenItIsNot() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"));
        assertEquals("hello ", m.accept("hello E"));
        assertEquals("", m.accept("N"));
        assertEquals("ENx", m.accept("x"));
        assertFalse(m.stopped());
    }

    @Test
    void stopsAtTheEarliestStopSplitAcrossDeltas() {
        StopStringMatcher m = new StopStringMatcher(List.of("world", "lo w"));
        assertEquals("hel", m.accept("hello"));
        assertEquals("", m.accept(" wor"));
        assertTrue(m.stopped());
        assertEquals("", m.accept("more"));
        assertEquals("", m.flush());
    }

    @Test
    void flushReleasesAHeldBackPrefixAtTheEnd() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n"));
        assertEquals("line", m.accept("line\n"));
        assertEquals("\n", m.flush());
    }
}
