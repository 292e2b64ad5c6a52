package dev.chorus.engine.cli;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.model.DecodePath;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import dev.chorus.engine.sampling.Sampler;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * bench decode: B sequences decoded together for N greedy steps after a short prefill each, against
 * the step's matrix-product floor ({@link MatmulFloor}); decode and floor alternate over several
 * trials and every figure prints as its median with min–max, so a busy machine shows as spread.
 */
final class BenchCommand {
    private static final int WARMUP_STEPS = 3;
    private static final long WARMUP_NANOS = 4_000_000_000L;

    static final String USAGE = """
            bench decode --model PATH [--against PATH] [--batch B] [--tokens N] [--decode host|host-bf16|backend] [--trials T] [--json]
                     [--device cpu|gpu]
            bench multi-lora --model PATH [--adapters N] [--rank R] [--targets all|qkvo] [--batch B] [--tokens T]
                     [--pattern distinct|identical|zipf] [--storage tensors|host-fp32|host-bf16] [--skip-sequential]
                     [--decode host|host-bf16|backend]
                     [--trials T] [--json] [--device cpu|gpu]
            """ + MergeBench.USAGE;
    private static final int PROMPT = 4;

    /** {@code against}: a second model decoded in the same process, trial for trial after the first (the per-trial ratio is printed). */
    record Options(Path model, Optional<Path> against, int batch, int tokens, int trials, boolean json, String device, DecodePath decode) {
        Options {
            OptionChecks.between("batch", batch, 1, 1024);
            OptionChecks.between("tokens", tokens, 1, 1 << 20);
            OptionChecks.between("trials", trials, 1, 1000);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("json"));
            Options o = new Options(args.requiredPath("model"), args.path("against"), args.integer("batch").orElse(1), args.integer("tokens").orElse(128),
                    args.integer("trials").orElse(5), args.flag("json"), args.string("device").orElse("cpu"),
                    decodePath(args.string("decode").orElse("host")));
            args.rejectUnknown();
            return o;
        }
    }

    private BenchCommand() {
    }

    static DecodePath decodePath(String name) {
        return switch (name) {
            case "host" -> DecodePath.HOST;
            case "host-bf16" -> DecodePath.HOST_BF16;
            case "backend" -> DecodePath.BACKEND;
            default -> throw new UsageException("--decode must be host, host-bf16 or backend, got '" + name + "'");
        };
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        if (!argv.isEmpty() && (argv.get(0).equals("--help") || argv.get(0).equals("-h"))) {
            throw new HelpRequested();
        }
        if (argv.isEmpty() || !(argv.get(0).equals("decode") || argv.get(0).equals("multi-lora") || argv.get(0).equals("merge"))) {
            throw new UsageException("usage: chorus bench decode|multi-lora|merge --model PATH [--batch B] [--tokens N] [--json]");
        }
        if (argv.get(0).equals("merge")) {
            MergeBench.run(MergeBench.Options.parse(argv.subList(1, argv.size())), out);
            return;
        }
        if (argv.get(0).equals("multi-lora")) {
            MultiLoraBench.run(MultiLoraBench.Options.parse(argv.subList(1, argv.size())), out);
            return;
        }
        Options o = Options.parse(argv.subList(1, argv.size()));
        try (LoadedModel model = LoadedModel.load(o.model(), Optional.empty(), o.device(), o.decode());
                LoadedModel against = o.against().map(p -> LoadedModel.load(p, Optional.empty(), o.device(), o.decode())).orElse(null);
                MatmulFloor floor = new MatmulFloor(model.config(), o.batch(), model.manager(), o.decode())) {
            int capacity = model.config().maxPositions();
            if (PROMPT + WARMUP_STEPS + o.tokens() > capacity) {
                throw new UsageException("--tokens " + o.tokens() + " does not fit the context of " + capacity + " (max "
                        + (capacity - PROMPT - WARMUP_STEPS) + ")");
            }
            if (against != null && !against.config().equals(model.config())) {
                throw new UsageException("--against " + o.against().get() + " has another shape than --model " + o.model());
            }
            // Warm up for a few seconds: DJL's Java side (index parsing, JNI wrappers) gets several times
            // faster once the JIT has compiled it, which takes thousands of calls.
            long warmUntil = System.nanoTime() + WARMUP_NANOS * (against == null ? 1 : 2);
            while (System.nanoTime() < warmUntil) {
                measure(model, o.batch(), PROMPT, Math.min(o.tokens(), 64), null);
                if (against != null) {
                    measure(against, o.batch(), PROMPT, Math.min(o.tokens(), 64), null);
                }
            }
            boolean host = model.model().decodesOnHost();
            floor.msPerStep(Math.min(o.tokens(), 64), host);
            if (host) {
                floor.msPerStep(Math.min(o.tokens(), 64)); // the backend's floor, printed beside
            }
            Trials t = new Trials(o.trials());
            for (int trial = 0; trial < o.trials(); trial++) {
                Result r = measure(model, o.batch(), PROMPT, o.tokens(), null);
                double floorMs = floor.msPerStep(o.tokens(), host);
                if (host) {
                    t.add("backend_matmul_floor_ms", floor.msPerStep(o.tokens()));
                }
                t.add("tokens_per_s", r.tokensPerSecond());
                t.add("ms_per_step", r.msPerStep());
                t.add("forward_ms_per_step", r.forwardMsPerStep());
                t.add("sampling_ms_per_step", r.samplingMsPerStep());
                t.add("prefill_ms_per_sequence", r.prefillMs());
                t.add("matmul_floor_ms", floorMs);
                t.add("overhead", r.msPerStep() / floorMs);
                if (against != null) {
                    Result a = measure(against, o.batch(), PROMPT, o.tokens(), null);
                    t.add("against_tokens_per_s", a.tokensPerSecond());
                    t.add("tokens_per_s_ratio", r.tokensPerSecond() / a.tokensPerSecond());
                }
            }
            String head = String.format(Locale.ROOT,
                    "\"model\":\"%s\",\"batch\":%d,\"tokens\":%d,\"decode\":\"%s\",\"bytes_resident\":%d,\"bytes_fp32\":%d",
                    model.name(), o.batch(), o.tokens(), host ? o.decode().name().toLowerCase(Locale.ROOT).replace('_', '-') : "backend",
                    model.model().weights().linearBytesResident(),
                    linearBytesFp32(model));
            if (against != null) {
                head += String.format(Locale.ROOT, ",\"against\":\"%s\"", against.name());
            }
            out.println(o.json() ? t.json(head) : model.name() + (against == null ? "" : " against " + against.name()) + " decode batch="
                    + o.batch() + " tokens=" + o.tokens() + " block linears " + model.model().weights().linearBytesResident() + " bytes resident ("
                    + String.format(Locale.ROOT, "%.4f", model.model().weights().linearBytesResident() / (double) linearBytesFp32(model))
                    + " of fp32)\n" + t.table());
        }
    }

    /** Bytes the block linears take as float32. */
    private static long linearBytesFp32(LoadedModel model) {
        return model.model().weights().blocks.stream().flatMap(b -> b.linears().stream())
                .mapToLong(l -> (long) l.inFeatures() * l.outFeatures() * Float.BYTES).sum();
    }

    record Result(int batch, double msPerStep, double forwardMsPerStep, double samplingMsPerStep, double prefillMs) {
        double tokensPerSecond() {
            return batch * 1000.0 / msPerStep;
        }
    }

    /** Prefill then {@code tokens} greedy decode steps of {@code batch} rows, each row with its adapter ({@code adapters} may be null). */
    static Result measure(LoadedModel model, int batch, int promptLength, int tokens, RowAdapters adapters) {
        int vocab = model.config().vocabSize();
        try (KvCache cache = model.model().newCache(batch, model.config().maxPositions())) {
            int[] slots = new int[batch];
            int[] positions = new int[batch];
            int[] next = new int[batch];
            int[][] prompts = new int[batch][promptLength];
            for (int b = 0; b < batch; b++) {
                slots[b] = b;
                prompts[b][0] = model.config().bosId();
                for (int i = 1; i < promptLength; i++) {
                    prompts[b][i] = (b * 31 + i * 7 + 3) % vocab; // distinct prompts per row
                }
                positions[b] = promptLength;
            }
            long prefillStart = System.nanoTime();
            try (NDManager step = model.manager().newSubManager()) { // equal lengths: all rows in one prefill pass
                float[] logits = model.model().lastLogits(step, cache, slots, new int[batch], prompts, adapters);
                for (int b = 0; b < batch; b++) {
                    next[b] = Sampler.argMax(logits, b * vocab, (b + 1) * vocab);
                }
            }
            double prefillMs = (System.nanoTime() - prefillStart) / 1e6 / batch;
            long forwardNanos = 0;
            long samplingNanos = 0;
            for (int s = 0; s < WARMUP_STEPS + tokens; s++) {
                if (s == WARMUP_STEPS) {
                    forwardNanos = 0;
                    samplingNanos = 0;
                }
                long t0 = System.nanoTime();
                float[] logits;
                int[][] rows = new int[batch][];
                for (int b = 0; b < batch; b++) {
                    rows[b] = new int[] {next[b]};
                }
                try (NDManager step = model.manager().newSubManager()) {
                    logits = model.model().lastLogits(step, cache, slots, positions, rows, adapters);
                }
                long t1 = System.nanoTime();
                for (int b = 0; b < batch; b++) {
                    next[b] = Sampler.argMax(logits, b * vocab, (b + 1) * vocab);
                    positions[b]++;
                }
                forwardNanos += t1 - t0;
                samplingNanos += System.nanoTime() - t1;
            }
            double forwardMs = forwardNanos / 1e6 / tokens;
            double samplingMs = samplingNanos / 1e6 / tokens;
            return new Result(batch, forwardMs + samplingMs, forwardMs, samplingMs, prefillMs);
        }
    }
}
