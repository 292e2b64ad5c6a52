package dev.chorus.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.chorus.kafka.TrainingJobEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FairQueueTest {
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
    int created;

    TrainingJobEvent queued(String tenant, String adapter) {
        created++;
        return TrainingJobEvent.queued("job-" + created, tenant, adapter, 1, 1, T0.plusSeconds(created));
    }

    static List<String> ids(List<TrainingJobEvent> jobs) {
        return jobs.stream().map(TrainingJobEvent::jobId).toList();
    }

    @Test
    void tenantsTakeTurnsWhateverTheirQueueLength() {
        FairQueue queue = new FairQueue(1);
        List<TrainingJobEvent> waiting = new ArrayList<>(List.of(queued("acme", "a1"), queued("acme", "a2"), queued("acme", "a3"),
                queued("globex", "g1"), queued("initech", "i1")));
        List<String> order = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            List<TrainingJobEvent> start = queue.next(waiting, List.of());
            assertEquals(1, start.size(), "one at a time");
            order.add(start.get(0).jobId());
            waiting.remove(start.get(0)); // it ran to its end before the next round
        }
        assertEquals(List.of("job-1", "job-4", "job-5", "job-2", "job-3"), order);
    }

    @Test
    void theLimitCountsRunningJobsAndAnAdapterRunsOneAtATime() {
        FairQueue queue = new FairQueue(2);
        TrainingJobEvent running = queued("acme", "a1").running("here", 0, 10, null, T0);
        TrainingJobEvent sameAdapter = queued("acme", "a1");
        TrainingJobEvent other = queued("globex", "g1");
        TrainingJobEvent third = queued("initech", "i1");
        assertEquals(List.of(other.jobId()), ids(queue.next(List.of(sameAdapter, other, third), List.of(running))));
        assertEquals(List.of(), queue.next(List.of(sameAdapter, third), List.of(running, other.running("here", 0, 1, null, T0))));
        assertEquals(List.of(third.jobId(), sameAdapter.jobId()), ids(queue.next(List.of(sameAdapter, third), List.of())),
                "after globex: initech, then round to acme");
        assertEquals(List.of(sameAdapter.jobId()), ids(queue.next(List.of(sameAdapter, queued("acme", "a1")), List.of())),
                "two queued for one adapter: only the oldest starts");
    }
}
