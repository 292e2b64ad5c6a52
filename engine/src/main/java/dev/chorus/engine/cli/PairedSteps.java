package dev.chorus.engine.cli;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Base-only and adapted decode steps of the same batch, alternated step by step (each on its own
 * cache), so that load from other processes on a shared machine falls on both alike; the result is
 * the median over steps of base step time / adapted step time (wall and the engine thread's CPU
 * time), i.e. adapted throughput as a fraction of the base's.
 */
final class PairedSteps {
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
    private static final int WARMUP_STEPS = 3;

    record Ratio(double wall, double cpu) {
    }

    private PairedSteps() {
    }

    static Ratio measure(LoadedModel model, int batch, int steps, RowAdapters adapters) {
        int vocab = model.config().vocabSize();
        try (KvCache baseCache = model.model().newCache(batch, model.config().maxPositions());
                KvCache adaptedCache = model.model().newCache(batch, model.config().maxPositions())) {
            int[] slots = new int[batch];
            int[][] rows = new int[batch][];
            for (int b = 0; b < batch; b++) {
                slots[b] = b;
                rows[b] = new int[] {(b * 31 + 3) % vocab}; // distinct tokens per row, the same in both runs
            }
            double[] wall = new double[steps];
            double[] cpu = new double[steps];
            for (int s = 0; s < WARMUP_STEPS + steps; s++) {
                int[] positions = new int[batch];
                Arrays.fill(positions, s);
                long w0 = System.nanoTime();
                long c0 = CPU.getCurrentThreadCpuTime();
                step(model, baseCache, slots, positions, rows, null);
                long w1 = System.nanoTime();
                long c1 = CPU.getCurrentThreadCpuTime();
                step(model, adaptedCache, slots, positions, rows, adapters);
                long w2 = System.nanoTime();
                long c2 = CPU.getCurrentThreadCpuTime();
                if (s >= WARMUP_STEPS) {
                    wall[s - WARMUP_STEPS] = (double) (w1 - w0) / (w2 - w1);
                    cpu[s - WARMUP_STEPS] = (double) (c1 - c0) / (c2 - c1);
                }
            }
            return new Ratio(median(wall), median(cpu));
        }
    }

    private static void step(LoadedModel model, KvCache cache, int[] slots, int[] positions, int[][] rows, RowAdapters adapters) {
        try (NDManager step = model.manager().newSubManager()) {
            model.model().lastLogits(step, cache, slots, positions, rows, adapters);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
