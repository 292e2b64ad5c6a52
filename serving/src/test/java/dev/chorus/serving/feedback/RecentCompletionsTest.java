package dev.chorus.serving.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RecentCompletionsTest {
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    /** A clock the test moves by hand. */
    static final class Hand extends Clock {
        Instant now = T0;

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    static RecentCompletion completion(String tenant, String id, Instant at) {
        return new RecentCompletion(id, tenant, null, null, "p", null, "c", at);
    }

    @Test
    void eachTenantKeepsItsNewestAndOnlyItsOwn() {
        RecentCompletions recent = new RecentCompletions(2, Duration.ofHours(1), new Hand());
        recent.add(completion("acme", "a1", T0));
        recent.add(completion("globex", "g1", T0));
        recent.add(completion("acme", "a2", T0));
        recent.add(completion("acme", "a3", T0));
        assertTrue(recent.find("acme", "a1").isEmpty(), "the oldest of acme's three is forgotten");
        assertEquals("a3", recent.find("acme", "a3").orElseThrow().id());
        assertTrue(recent.find("globex", "g1").isPresent(), "acme's traffic does not push out globex's");
        assertTrue(recent.find("globex", "a2").isEmpty(), "another tenant's id is not found");
    }

    @Test
    void completionsExpire() {
        Hand clock = new Hand();
        RecentCompletions recent = new RecentCompletions(10, Duration.ofMinutes(5), clock);
        recent.add(completion("acme", "old", T0));
        clock.now = T0.plus(Duration.ofMinutes(3));
        recent.add(completion("acme", "new", clock.now));
        clock.now = T0.plus(Duration.ofMinutes(6));
        assertTrue(recent.find("acme", "old").isEmpty(), "older than the age limit");
        assertTrue(recent.find("acme", "new").isPresent());
    }
}
