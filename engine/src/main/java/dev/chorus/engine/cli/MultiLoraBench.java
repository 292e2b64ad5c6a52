package dev.chorus.engine.cli;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.DecodePath;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * bench multi-lora: decode tokens/s of a batch where rows use different adapters, against the base
 * alone and against running each adapter's rows as a separate batch; plus adapter cold-load
 * latency (PEFT files on disk → usable slot). --skip-sequential leaves out the per-adapter batches (the
 * slowest part) when only batched against base matters.
 */
final class MultiLoraBench {
    /** Which adapter each row of the batch uses. */
    enum RowPattern {
        /** All rows the same adapter. */
        IDENTICAL,
        /** All rows different adapters (round robin). */
        DISTINCT,
        /** Adapters Zipf(1)-distributed over the rows, seeded. */
        ZIPF;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static RowPattern parse(String text) {
            for (RowPattern p : values()) {
                if (p.label().equals(text)) {
                    return p;
                }
            }
            throw new UsageException("--pattern must be distinct, identical or zipf, got '" + text + "'");
        }
    }

    record Options(Path model, String device, boolean json, int adapters, int rank, Set<Projection> targets, int batch, int tokens,
            RowPattern pattern, int trials, boolean sequential, AdapterSlots.Storage storage, DecodePath decode) {
        Options {
            OptionChecks.between("trials", trials, 1, 1000);
            OptionChecks.between("adapters", adapters, 1, 4096);
            OptionChecks.between("rank", rank, 1, 1024);
            OptionChecks.between("batch", batch, 1, 1024);
            OptionChecks.between("tokens", tokens, 1, 1 << 16);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("json", "skip-sequential"));
            Options o = new Options(args.requiredPath("model"), args.string("device").orElse("cpu"), args.flag("json"),
                    args.integer("adapters").orElse(8), args.integer("rank").orElse(16), CliArgs.allOrQkvo(args.string("targets").orElse("all")),
                    args.integer("batch").orElse(8), args.integer("tokens").orElse(64),
                    RowPattern.parse(args.string("pattern").orElse("distinct")), args.integer("trials").orElse(5),
                    !args.flag("skip-sequential"), storage(args.string("storage").orElse(null)),
                    BenchCommand.decodePath(args.string("decode").orElse("host")));
            args.rejectUnknown();
            return o;
        }

        static AdapterSlots.Storage storage(String text) {
            if (text == null) {
                return AdapterSlots.DEFAULT_STORAGE;
            }
            for (AdapterSlots.Storage s : AdapterSlots.Storage.values()) {
                if (s.name().toLowerCase(Locale.ROOT).replace('_', '-').equals(text)) {
                    return s;
                }
            }
            throw new UsageException("--storage must be tensors, host-fp32 or host-bf16, got '" + text + "'");
        }

        /** all or qkvo, as given. */
        String targetsLabel() {
            return targets.size() == Projection.values().length ? "all" : "qkvo";
        }
    }

    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    private MultiLoraBench() {
    }

    static void run(Options o, PrintStream out) {
        try (LoadedModel model = LoadedModel.load(o.model(), Optional.empty(), o.device(), o.decode())) {
            ModelConfig c = model.config();
            if (4 + o.tokens() > c.maxPositions()) {
                throw new UsageException("--tokens " + o.tokens() + " does not fit the context of " + c.maxPositions());
            }
            List<Adapter> pool = new ArrayList<>();
            for (int i = 0; i < o.adapters(); i++) {
                pool.add(RandomAdapters.generate(c, AdapterType.LORA, o.rank(), o.targets(), 0.02, 1000 + i, null));
            }
            try (AdapterSlots slots = new AdapterSlots(c, new AdapterSlots.Settings(o.adapters(), o.rank(), o.targets(), o.storage()), model.manager());
                    MatmulFloor floor = new MatmulFloor(c, o.batch(), model.manager(), o.decode())) {
                double[] loadMs = coldLoads(pool, slots, c, o.rank());
                Trials t = throughput(model, slots, floor, assign(o.pattern(), o.batch(), o.adapters()), o.tokens(), o.trials(),
                        o.sequential());
                Arrays.sort(loadMs);
                double p50 = loadMs[(int) Math.floor(0.5 * (loadMs.length - 1))];
                double p99 = loadMs[(int) Math.floor(0.99 * (loadMs.length - 1))];
                String head = String.format(Locale.ROOT, "\"model\":\"%s\",\"adapters\":%d,\"rank\":%d,\"targets\":\"%s\",\"batch\":%d,"
                                + "\"tokens\":%d,\"pattern\":\"%s\",\"storage\":\"%s\",\"cold_load_ms_p50\":%.2f,\"cold_load_ms_p99\":%.2f", model.name(), o.adapters(),
                        o.rank(), o.targetsLabel(), o.batch(), o.tokens(), o.pattern().label(),
                        o.storage().name().toLowerCase(Locale.ROOT).replace('_', '-'), p50, p99);
                out.println(o.json() ? t.json(head) : head.replace("\"", "") + "\n" + t.table());
            }
        }
    }

    /**
     * Tokens/s of the base alone, of all rows batched with their adapters, and of each adapter's rows
     * as a batch of their own, and the step's matrix-product floor (base weights only; the adapters'
     * products are what batched_over_floor − base_over_floor adds), interleaved per trial. batched_over_base_cpu is the
     * same ratio by the engine thread's CPU time (base run's over batched run's, prefill and warm-up included): on a
     * machine shared with other work it is far steadier than wall time, and with OMP_NUM_THREADS=1 the backend runs
     * every op on that thread, so it counts all the work (with more backend threads it misses theirs). paired_* is the same
     * ratio with base and adapted steps alternated step by step ({@link PairedSteps}), the steadiest of the three after one discarded warm-up round (the JIT makes
     * DJL's Java side several-fold faster), so drift on a shared machine hits all three alike.
     */
    private static Trials throughput(LoadedModel model, AdapterSlots slots, MatmulFloor floor, int[] rowAdapter, int tokens, int trials,
            boolean sequential) {
        int batch = rowAdapter.length;
        int[] rowSlots = new int[batch];
        for (int i = 0; i < batch; i++) {
            rowSlots[i] = rowAdapter[i] + 1;
        }
        RowAdapters batchedRows = slots.forRows(rowSlots);
        Map<Integer, Integer> groups = new LinkedHashMap<>();
        for (int a : rowAdapter) {
            groups.merge(a, 1, Integer::sum);
        }
        Trials t = new Trials(trials);
        for (int round = 0; round <= trials; round++) {
            long cpu0 = CPU.getCurrentThreadCpuTime();
            double base = decode(model, batch, tokens, null);
            long cpu1 = CPU.getCurrentThreadCpuTime();
            double batched = decode(model, batch, tokens, batchedRows);
            long cpu2 = CPU.getCurrentThreadCpuTime();
            double seconds = 0;
            for (var g : sequential ? groups.entrySet() : Map.<Integer, Integer>of().entrySet()) {
                int[] same = new int[g.getValue()];
                Arrays.fill(same, g.getKey() + 1);
                seconds += g.getValue() * tokens / decode(model, g.getValue(), tokens, slots.forRows(same));
            }
            double sequentialRate = batch * tokens / seconds;
            double floorMs = floor.msPerStep(tokens, model.model().decodesOnHost());
            PairedSteps.Ratio paired = PairedSteps.measure(model, batch, tokens, batchedRows);
            if (round > 0) {
                t.add("matmul_floor_ms", floorMs);
                t.add("base_over_floor", batch * 1000.0 / base / floorMs); // ms per step / floor
                t.add("batched_over_floor", batch * 1000.0 / batched / floorMs);
                t.add("base_tokens_per_s", base);
                t.add("batched_tokens_per_s", batched);
                if (sequential) {
                    t.add("sequential_tokens_per_s", sequentialRate);
                }
                t.add("batched_over_base", batched / base);
                t.add("batched_over_base_cpu", (double) (cpu1 - cpu0) / (cpu2 - cpu1));
                t.add("paired_batched_over_base", paired.wall());
                t.add("paired_batched_over_base_cpu", paired.cpu());
                if (sequential) {
                    t.add("batched_over_sequential", batched / sequentialRate);
                }
            }
        }
        return t;
    }

    /** Which adapter each row uses: all the same, all different (round robin), or Zipf(1)-distributed. */
    static int[] assign(RowPattern pattern, int batch, int adapters) {
        int[] out = new int[batch];
        switch (pattern) {
            case IDENTICAL -> Arrays.fill(out, 0);
            case DISTINCT -> Arrays.setAll(out, i -> i % adapters);
            case ZIPF -> {
                double[] cumulative = new double[adapters];
                double sum = 0;
                for (int k = 0; k < adapters; k++) {
                    sum += 1.0 / (k + 1);
                    cumulative[k] = sum;
                }
                SplittableRandom rnd = new SplittableRandom(7);
                for (int i = 0; i < batch; i++) {
                    double u = rnd.nextDouble() * sum;
                    int k = 0;
                    while (cumulative[k] < u) {
                        k++;
                    }
                    out[i] = k;
                }
            }
        }
        return out;
    }

    /** Decode tokens/s of {@code batch} rows for {@code tokens} greedy steps after a short prefill. */
    private static double decode(LoadedModel model, int batch, int tokens, RowAdapters adapters) {
        return BenchCommand.measure(model, batch, 3, tokens, adapters).tokensPerSecond();
    }

    /** Writes each adapter as PEFT files, then times file → validated adapter → slot. */
    private static double[] coldLoads(List<Adapter> pool, AdapterSlots slots, ModelConfig c, int rank) {
        try {
            Path dir = Files.createTempDirectory("chorus-bench-adapters");
            double[] ms = new double[pool.size()];
            try {
                for (int i = 0; i < pool.size(); i++) {
                    Path d = dir.resolve("a" + i);
                    AdapterFiles.write(pool.get(i), d);
                    long t0 = System.nanoTime();
                    slots.load(i + 1, AdapterFiles.read(d, c, rank, null));
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
            } finally {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            return ms;
        } catch (IOException e) {
            throw new UsageException("cannot write benchmark adapters to a temp directory: " + e.getMessage());
        }
    }
}
