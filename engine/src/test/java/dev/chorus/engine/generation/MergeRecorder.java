package dev.chorus.engine.generation;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.merged.MergeListener;
import dev.chorus.engine.merged.MergePolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/** Records what the engine says about merging, for assertions; {@link #onResident} runs on the engine thread at each change. */
final class MergeRecorder implements MergeListener {
    final List<MergePolicy.Decision> decisions = java.util.Collections.synchronizedList(new ArrayList<>());
    final Map<String, Boolean> mergedById = new ConcurrentHashMap<>();
    final List<String> admissionOrder = java.util.Collections.synchronizedList(new ArrayList<>());
    volatile int resident;
    volatile Runnable onResident = () -> { };

    @Override
    public void decided(MergePolicy.Decision decision) {
        decisions.add(decision);
    }

    @Override
    public void admitted(String requestId, AdapterKey adapter, boolean merged) {
        mergedById.put(requestId, merged);
        admissionOrder.add(requestId);
    }

    @Override
    public void resident(int variants, long bytes) {
        resident = variants;
        onResident.run();
    }

    List<String> actions() {
        synchronized (decisions) {
            return decisions.stream().map(d -> d.action().label() + " " + d.key().name()).toList();
        }
    }

    /** Waits for a condition the engine thread makes true (no fixed sleeps): polls briefly up to 60 s. */
    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
