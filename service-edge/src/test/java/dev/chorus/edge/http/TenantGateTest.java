package dev.chorus.edge.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.chorus.edge.auth.Caller;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TenantGateTest {
    final TenantGate gate = new TenantGate(2, 1);
    final List<TenantGate.Permit> admitted = new ArrayList<>();
    final List<String> order = new ArrayList<>();

    void enter(String tenant, String label) {
        gate.enter(Caller.tenant(tenant), permit -> {
            admitted.add(permit);
            order.add(label);
        });
    }

    @Test
    void aTenantGetsItsShareAQueueAndThen429WhileOthersPassAtOnce() {
        enter("acme", "a1");
        enter("acme", "a2");
        enter("acme", "a3"); // waits
        RequestRejectedException full = assertThrows(RequestRejectedException.class, () -> enter("acme", "a4"));
        assertEquals(RequestRejectedException.Reason.BUSY, full.reason());
        assertEquals(1, full.retryAfterSeconds());
        assertEquals(429, ErrorMapper.status(full.reason()));
        enter("globex", "g1"); // another tenant never waits behind acme
        assertEquals(List.of("a1", "a2", "g1"), order);
        assertEquals(3, gate.load("acme"));

        admitted.get(0).release();
        admitted.get(0).release(); // twice is harmless: it does not free a second place
        assertEquals(List.of("a1", "a2", "g1", "a3"), order, "the released place goes to the next in line");
        assertEquals(2, gate.load("acme"));
        enter("acme", "a5"); // queued again (one place)
        assertThrows(RequestRejectedException.class, () -> enter("acme", "a6"));
        admitted.get(1).release();
        admitted.get(3).release();
        admitted.get(4).release();
        assertEquals(0, gate.load("acme"));
        assertEquals(List.of("a1", "a2", "g1", "a3", "a5"), order);
    }

    @Test
    void operatorsShareOneShare() {
        TenantGate one = new TenantGate(1, 0);
        one.enter(Caller.OPERATOR, p -> { });
        assertThrows(RequestRejectedException.class, () -> one.enter(Caller.OPERATOR, p -> { }));
        one.enter(Caller.tenant("acme"), p -> { });
    }
}
