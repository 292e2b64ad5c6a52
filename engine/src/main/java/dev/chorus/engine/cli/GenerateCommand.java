package dev.chorus.engine.cli;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.generation.FinishReason;
import dev.chorus.engine.generation.GenerationRequest;
import dev.chorus.engine.generation.TokenSink;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Prints the completion of one prompt (no prompt echo) to stdout as it is generated, optionally
 * with a PEFT adapter applied the way serving applies it (a device slot, the batched adapter ops).
 */
final class GenerateCommand {
    static final String USAGE = """
            generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-tokens N] [--temperature T]
                     [--top-k K] [--top-p P] [--seed S] [--device cpu|gpu] [--adapter DIR]""";
    private static final int DEFAULT_MAX_TOKENS = 256;
    /** Slot rank for the adapter: at least serving's default limit, so a qa-hira expansion usually fits too. */
    private static final int SLOT_RANK = 64;
    private static final int MAX_ADAPTER_RANK = 1024;
    private static final AdapterKey ADAPTER = new AdapterKey("cli", "adapter", 1);

    /** @param maxTokens empty: up to 256, within the context left after the prompt */
    record Options(Path model, Optional<Path> tokenizer, String prompt, Optional<Integer> maxTokens, float temperature, int topK, float topP,
            long seed, String device, Optional<Path> adapter) {
        Options {
            maxTokens.ifPresent(n -> OptionChecks.between("max-tokens", n, 1, Integer.MAX_VALUE));
            OptionChecks.within("temperature", temperature, 0f, 100f, false);
            OptionChecks.between("top-k", topK, 0, Integer.MAX_VALUE);
            OptionChecks.within("top-p", topP, 0f, 1f, true);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of());
            Options o = new Options(args.requiredPath("model"), args.path("tokenizer"), args.string("prompt").orElse(""),
                    args.integer("max-tokens"), args.number("temperature").orElse(1f), args.integer("top-k").orElse(0),
                    args.number("top-p").orElse(1f), args.longValue("seed").orElseGet(System::nanoTime),
                    args.string("device").orElse("cpu"), args.path("adapter"));
            args.rejectUnknown();
            return o;
        }

        SamplingParams sampling() {
            return new SamplingParams(temperature, topK, topP, seed);
        }

        /** The tokens to generate when {@code room} positions are left after the prompt. */
        int maxTokens(int room) {
            int n = maxTokens.orElse(Math.min(DEFAULT_MAX_TOKENS, room));
            if (n > room) {
                throw new UsageException("--max-tokens " + n + " exceeds the " + room + " positions left after the prompt");
            }
            return n;
        }
    }

    private GenerateCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        Options o = Options.parse(argv);
        try (LoadedModel model = LoadedModel.load(o.model(), o.tokenizer(), o.device())) {
            int[] ids = model.requireTokenizer().encode(o.prompt());
            int room = model.config().maxPositions() - ids.length;
            if (room < 1) {
                throw new UsageException("prompt of " + ids.length + " tokens leaves no room in the context of " + model.config().maxPositions());
            }
            Optional<Adapter> adapter = o.adapter().map(dir -> AdapterFiles.read(dir, model.config(), MAX_ADAPTER_RANK, Fingerprint.of(o.model())));
            var request = new GenerationRequest("cli", ids, o.maxTokens(room), o.sampling(), List.of(), adapter.isPresent() ? ADAPTER : null);
            AdapterRuntime runtime = adapter.map(a -> runtime(model, a)).orElse(null);
            try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 0, ids.length), runtime)) {
                stream(engine, request, out);
            }
            if (System.console() != null) {
                out.println();
            }
        }
    }

    /** One slot holding the adapter, read once above (the loop asks its source on the loader thread). */
    private static AdapterRuntime runtime(LoadedModel model, Adapter adapter) {
        var slots = new AdapterSlots.Settings(1, Math.max(SLOT_RANK, adapter.rank()), adapter.targets());
        return new AdapterRuntime(model, slots, 1, key -> adapter, null);
    }

    private static void stream(EngineLoop engine, GenerationRequest request, PrintStream out) {
        CompletableFuture<FinishReason> done = new CompletableFuture<>();
        engine.submit(request, new TokenSink() {
            @Override
            public void onToken(int tokenId, String textDelta) {
                out.print(textDelta);
                out.flush();
            }

            @Override
            public void onFinish(FinishReason reason, int promptTokens, int completionTokens) {
                done.complete(reason);
            }

            @Override
            public void onError(EngineException error) {
                done.completeExceptionally(error);
            }
        });
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException("interrupted");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof EngineException ee ? ee : new EngineException(e.getCause().getMessage(), e.getCause());
        }
    }
}
