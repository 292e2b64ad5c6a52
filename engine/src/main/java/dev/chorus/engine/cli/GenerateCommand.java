package dev.chorus.engine.cli;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.generation.FinishReason;
import dev.chorus.engine.generation.GenerationRequest;
import dev.chorus.engine.generation.TokenSink;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.SamplingParams;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Prints the completion of one prompt (no prompt echo) to stdout as it is generated. */
final class GenerateCommand {
    private static final int DEFAULT_MAX_TOKENS = 256;

    private GenerateCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of());
        var modelPath = args.requiredPath("model");
        var tokenizer = args.path("tokenizer");
        String prompt = args.string("prompt").orElse("");
        int maxTokensArg = args.integer("max-tokens", -1, 1, Integer.MAX_VALUE);
        float temperature = args.number("temperature", 1f, 0f, 100f, false);
        int topK = args.integer("top-k", 0, 0, Integer.MAX_VALUE);
        float topP = args.number("top-p", 1f, 0f, 1f, true);
        long seed = args.longValue("seed", System.nanoTime());
        String device = args.string("device").orElse("cpu");
        args.rejectUnknown();

        try (LoadedModel model = LoadedModel.load(modelPath, tokenizer, device)) {
            int[] ids = model.requireTokenizer().encode(prompt);
            int room = model.config().maxPositions() - ids.length;
            if (room < 1) {
                throw new UsageException("prompt of " + ids.length + " tokens leaves no room in the context of " + model.config().maxPositions());
            }
            int maxTokens = maxTokensArg < 0 ? Math.min(DEFAULT_MAX_TOKENS, room) : maxTokensArg;
            if (maxTokens > room) {
                throw new UsageException("--max-tokens " + maxTokens + " exceeds the " + room + " positions left after the prompt");
            }
            var request = new GenerationRequest("cli", ids, maxTokens, new SamplingParams(temperature, topK, topP, seed), List.of());
            CompletableFuture<FinishReason> done = new CompletableFuture<>();
            try (EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(1, 0, ids.length))) {
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
                done.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EngineException("interrupted");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof EngineException ee ? ee : new EngineException(e.getCause().getMessage(), e.getCause());
            }
            if (System.console() != null) {
                out.println();
            }
        }
    }
}
