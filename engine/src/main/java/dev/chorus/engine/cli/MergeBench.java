package dev.chorus.engine.cli;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterNotFoundException;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterSource;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.generation.FinishReason;
import dev.chorus.engine.generation.GenerationRequest;
import dev.chorus.engine.generation.TokenSink;
import dev.chorus.engine.generation.Variants;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergeListener;
import dev.chorus.engine.merged.MergePolicy;
import dev.chorus.engine.merged.MergeSettings;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * bench merge: a skewed multi-tenant workload through the engine loop, dynamic merge on against off.
 * One hot adapter takes a share s of the requests, the rest spread evenly over the others; a closed
 * loop of 2 × batch clients keeps the queue full. Per skew, on and off alternate over the trials
 * (after one discarded warm-up round of each) and report throughput, p50/p99 inter-token latency of
 * the hot and the cold tenants, and the merges and unmerges the policy made.
 */
final class MergeBench {
    static final String USAGE = "bench merge --model PATH [--skews 0.5,0.8,0.95] [--adapters 32] [--batch 8] [--requests 64] [--tokens 32]\n"
            + "                 [--window-ms 250] [--merge-share 0.9] [--stay-share 0.8] [--trials 5] [--json] [--device cpu|gpu]";
    private static final int RANK = 8;
    private static final int PROMPT = 4;
    private static final MergeSettings DEFAULTS = MergeSettings.defaults(2, Long.MAX_VALUE, true);

    record Options(Path model, String device, boolean json, double[] skews, int adapters, int batch, int requests, int tokens, int windowMs,
            double mergeShare, double stayShare, int trials) {
        Options {
            OptionChecks.between("adapters", adapters, 2, 1024);
            OptionChecks.between("batch", batch, 1, 256);
            OptionChecks.between("requests", requests, 1, 1 << 20);
            OptionChecks.between("tokens", tokens, 1, 1 << 16);
            OptionChecks.between("window-ms", windowMs, 1, 600_000);
            OptionChecks.between("trials", trials, 1, 1000);
            if (!(stayShare >= 0 && stayShare <= mergeShare && mergeShare <= 1)) {
                throw new UsageException("--merge-share and --stay-share need 0 <= stay-share <= merge-share <= 1");
            }
            for (double s : skews) {
                if (!(s > 0 && s < 1)) {
                    throw new UsageException("--skews must be shares in (0, 1), got " + s);
                }
            }
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("json"));
            double[] skews;
            try {
                skews = Arrays.stream(args.string("skews").orElse("0.5,0.8,0.95").split(",")).mapToDouble(Double::parseDouble).toArray();
            } catch (NumberFormatException e) {
                throw new UsageException("--skews must be comma-separated numbers, e.g. 0.5,0.8,0.95");
            }
            Options o = new Options(args.requiredPath("model"), args.string("device").orElse("cpu"), args.flag("json"), skews,
                    args.integer("adapters").orElse(32), args.integer("batch").orElse(8), args.integer("requests").orElse(64),
                    args.integer("tokens").orElse(32), args.integer("window-ms").orElse(250),
                    args.number("merge-share").orElse((float) DEFAULTS.mergeShare()), args.number("stay-share").orElse((float) DEFAULTS.stayShare()),
                    args.integer("trials").orElse(5));
            args.rejectUnknown();
            return o;
        }
    }

    private MergeBench() {
    }

    static void run(Options o, PrintStream out) {
        try (LoadedModel model = LoadedModel.load(o.model(), Optional.empty(), o.device())) {
            if (PROMPT + o.tokens() > model.config().maxPositions()) {
                throw new UsageException("--tokens " + o.tokens() + " does not fit the context of " + model.config().maxPositions());
            }
            // Exactly mergeable kinds: lora on a dense base, qa-lora (folded into the zero points) on a quantized one.
            AdapterType type = Checkpoints.open(o.model()) instanceof Checkpoint.Compressed ? AdapterType.QA_LORA : AdapterType.LORA;
            Map<AdapterKey, Adapter> store = new HashMap<>();
            List<AdapterKey> keys = new ArrayList<>();
            for (int i = 0; i < o.adapters(); i++) {
                AdapterKey key = new AdapterKey("tenant" + i, "a", 1);
                keys.add(key);
                store.put(key, RandomAdapters.generate(model.config(), type, RANK, EnumSet.allOf(Projection.class), 0.02, 500 + i, null));
            }
            AdapterSource source = key -> {
                Adapter a = store.get(key);
                if (a == null) {
                    throw new AdapterNotFoundException(key);
                }
                return a;
            };
            AdapterMerges merges = AdapterMerges.of(o.model(), source, k -> Optional.ofNullable(store.get(k)).map(Adapter::type));
            for (double skew : o.skews()) {
                Trials t = new Trials(o.trials());
                for (int round = 0; round <= o.trials(); round++) {
                    long seed = 1000L * round + 7;
                    for (boolean dynamic : new boolean[] {false, true}) {
                        Run r = workload(model, o, keys, source, merges, dynamic, skew, seed);
                        if (round > 0) {
                            r.record(t, dynamic ? "on" : "off");
                        }
                    }
                    if (round > 0) {
                        t.add("on_over_off_tokens_per_s", ratio(t, "on_tokens_per_s", "off_tokens_per_s"));
                        t.add("on_over_off_hot_itl_p50", ratio(t, "on_hot_itl_p50_ms", "off_hot_itl_p50_ms"));
                    }
                }
                String head = String.format(Locale.ROOT, "\"model\":\"%s\",\"adapter_type\":\"%s\",\"skew\":%.2f,\"adapters\":%d,\"batch\":%d,"
                                + "\"requests\":%d,\"tokens\":%d,\"window_ms\":%d,\"merge_share\":%.2f,\"stay_share\":%.2f", model.name(), type.label(), skew,
                        o.adapters(), o.batch(), o.requests(), o.tokens(), o.windowMs(), o.mergeShare(), o.stayShare());
                out.println(o.json() ? t.json(head) : head.replace("\"", "") + "\n" + t.table());
            }
        }
    }

    /** This trial's value of the last figure added under each name. */
    private static double ratio(Trials t, String a, String b) {
        return t.last(a) / t.last(b);
    }

    /** One trial's figures. */
    record Run(double tokensPerSecond, double[] hotGaps, double[] coldGaps, int merges, int unmerges) {
        void record(Trials t, String mode) {
            t.add(mode + "_tokens_per_s", tokensPerSecond);
            t.add(mode + "_hot_itl_p50_ms", percentile(hotGaps, 0.50));
            t.add(mode + "_hot_itl_p99_ms", percentile(hotGaps, 0.99));
            t.add(mode + "_cold_itl_p50_ms", percentile(coldGaps, 0.50));
            t.add(mode + "_cold_itl_p99_ms", percentile(coldGaps, 0.99));
            t.add(mode + "_merges", merges);
            t.add(mode + "_unmerges", unmerges);
        }
    }

    static double percentile(double[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.floor(q * (sorted.length - 1))];
    }

    /** {@code requests} requests from 2 × batch closed-loop clients; tenant 0 is hot with share {@code skew}. */
    private static Run workload(LoadedModel model, Options o, List<AdapterKey> keys, AdapterSource source, AdapterMerges merges, boolean dynamic,
            double skew, long seed) {
        AtomicInteger mergeCount = new AtomicInteger();
        AtomicInteger unmergeCount = new AtomicInteger();
        MergeListener listener = new MergeListener() {
            @Override
            public void decided(MergePolicy.Decision d) {
                (d.action() == MergePolicy.Action.MERGE ? mergeCount : d.action() == MergePolicy.Action.UNMERGE ? unmergeCount : new AtomicInteger())
                        .incrementAndGet();
            }
        };
        MergeSettings settings = new MergeSettings(2, Long.MAX_VALUE, dynamic, DEFAULTS.mergeAt(), DEFAULTS.stayAt(), o.mergeShare(),
                o.stayShare(), Duration.ofMillis(o.windowMs()), DEFAULTS.starvationReserve());
        AdapterRuntime runtime = new AdapterRuntime(model, new AdapterSlots.Settings(keys.size(), RANK, EnumSet.allOf(Projection.class)),
                keys.size(), source, null);
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Double> hot = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Double> cold = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(o.requests());
        AtomicInteger issued = new AtomicInteger();
        AtomicLong tokens = new AtomicLong();
        try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(o.batch(), o.requests(), 512), runtime,
                dynamic ? new Variants(merges, settings, listener) : null)) {
            Runnable[] next = new Runnable[1];
            next[0] = () -> {
                int id = issued.getAndIncrement();
                if (id >= o.requests()) {
                    return;
                }
                int tenant;
                synchronized (rnd) {
                    tenant = rnd.nextDouble() < skew ? 0 : 1 + rnd.nextInt(keys.size() - 1);
                }
                int[] prompt = new int[PROMPT];
                prompt[0] = model.config().bosId();
                for (int i = 1; i < PROMPT; i++) {
                    prompt[i] = (id * 31 + i * 7 + 3) % model.config().vocabSize();
                }
                List<Double> gaps = tenant == 0 ? hot : cold;
                engine.submit(new GenerationRequest("r" + id, prompt, o.tokens(), SamplingParams.GREEDY, List.of(), keys.get(tenant)),
                        new TokenSink() {
                            private long last = -1;

                            @Override
                            public void onToken(int tokenId, String textDelta) {
                                long now = System.nanoTime();
                                if (last >= 0) {
                                    gaps.add((now - last) / 1e6);
                                }
                                last = now;
                                tokens.incrementAndGet();
                            }

                            @Override
                            public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
                                done.countDown();
                                next[0].run();
                            }

                            @Override
                            public void onError(EngineException error) {
                                throw new IllegalStateException("benchmark request failed: " + error.getMessage(), error);
                            }
                        });
            };
            long start = System.nanoTime();
            for (int c = 0; c < 2 * o.batch(); c++) {
                next[0].run();
            }
            if (!done.await(30, TimeUnit.MINUTES)) {
                throw new EngineException("benchmark did not finish within 30 minutes");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Run(tokens.get() / seconds, sorted(hot), sorted(cold), mergeCount.get(), unmergeCount.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException("benchmark interrupted");
        }
    }

    private static double[] sorted(List<Double> values) {
        synchronized (values) {
            return values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        }
    }
}
