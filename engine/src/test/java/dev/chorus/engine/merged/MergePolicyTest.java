package dev.chorus.engine.merged;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.chorus.engine.adapter.AdapterKey;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** dLoRA's thresholds on hand-computed window averages (batch 8: merge at 8 queued, stay while 4.48). */
class MergePolicyTest {
    static final AdapterKey HOT = new AdapterKey("t", "hot", 1);
    static final AdapterKey WARM = new AdapterKey("t", "warm", 1);
    static final long S = 1_000_000_000L;
    /** dLoRA's thresholds alone (no share condition). */
    final MergePolicy policy = new MergePolicy(new MergeSettings(2, Long.MAX_VALUE, true, 1.0, 0.56, 0, 0, Duration.ofSeconds(2), 0.25), 8, 0);

    @Test
    void mergesTheHottestAdapterAtOneBatchAndKeepsItAboveTheStayThreshold() {
        policy.observe(S / 2, Map.of(HOT, 10, WARM, 9), 19);
        policy.observe(S, Map.of(HOT, 10, WARM, 7), 17); // warm averages 8: also eligible, but hot is hotter
        assertEquals(List.of(), policy.decide(S, Set.of(), k -> true), "no decision before the 2 s window has passed");
        policy.observe(2 * S, Map.of(HOT, 10, WARM, 8), 18);
        List<MergePolicy.Decision> d = policy.decide(2 * S, Set.of(), k -> true);
        assertEquals(1, d.size());
        assertEquals(MergePolicy.Action.MERGE, d.get(0).action());
        assertEquals(HOT, d.get(0).key());
        assertEquals(10.0, d.get(0).averageQueue(), 1e-9);

        policy.observe(3 * S, Map.of(HOT, 5), 5); // window (2 s, 4 s]: 5 and 4 average 4.5 >= 4.48: stays
        policy.observe(4 * S, Map.of(HOT, 4), 4);
        assertEquals(List.of(), policy.decide(4 * S, Set.of(HOT), k -> false));
        policy.observe(5 * S, Map.of(HOT, 5), 5);
        policy.observe(6 * S, Map.of(HOT, 3), 3); // 4.0 < 4.48
        d = policy.decide(6 * S, Set.of(HOT), k -> false);
        assertEquals(List.of(MergePolicy.Action.UNMERGE), d.stream().map(MergePolicy.Decision::action).toList());
        assertEquals(4.0, d.get(0).averageQueue(), 1e-9);
    }

    @Test
    void anAdapterThatCannotMergeIsPassedOver() {
        policy.observe(2 * S, Map.of(HOT, 20, WARM, 9), 29);
        List<MergePolicy.Decision> d = policy.decide(2 * S, Set.of(), k -> !k.equals(HOT));
        assertEquals(WARM, d.get(0).key());
    }

    /** Our share condition: the hot adapter must also be nearly all requests (merge at 0.9, stay while 0.8). */
    @Test
    void theDefaultsAlsoWantTheAdapterToBeNearlyAllRequests() {
        MergePolicy shares = new MergePolicy(MergeSettings.defaults(2, Long.MAX_VALUE, true), 8, 0);
        shares.observe(2 * S, Map.of(HOT, 12), 16); // 12 >= 8 queued, but only 75% of the requests
        assertEquals(List.of(), shares.decide(2 * S, Set.of(), k -> true));
        shares.observe(4 * S, Map.of(HOT, 15), 16); // 94%
        assertEquals(MergePolicy.Action.MERGE, shares.decide(4 * S, Set.of(), k -> true).get(0).action());
        shares.observe(6 * S, Map.of(HOT, 14), 16); // 87.5% >= 80%: stays
        assertEquals(List.of(), shares.decide(6 * S, Set.of(HOT), k -> true));
        shares.observe(8 * S, Map.of(HOT, 12), 16); // 75% < 80%, though 12 queued >= 4.48
        assertEquals(MergePolicy.Action.UNMERGE, shares.decide(8 * S, Set.of(HOT), k -> true).get(0).action());
    }

    @Test
    void settingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new MergeSettings(2, 1, true, 0.5, 0.6, 0, 0, Duration.ofSeconds(1), 0.25));
        assertThrows(IllegalArgumentException.class, () -> new MergeSettings(-1, 1, true, 1, 0.5, 0, 0, Duration.ofSeconds(1), 0.25));
        assertThrows(IllegalArgumentException.class, () -> new MergeSettings(2, 1, true, 1, 0.5, 0, 0, Duration.ZERO, 0.25));
        assertThrows(IllegalArgumentException.class, () -> new MergeSettings(2, 1, true, 1, 0.5, 0, 0, Duration.ofSeconds(1), 1.0));
        assertThrows(IllegalArgumentException.class, () -> new MergeSettings(2, 1, true, 1, 0.5, 0.5, 0.9, Duration.ofSeconds(1), 0.25));
    }
}
