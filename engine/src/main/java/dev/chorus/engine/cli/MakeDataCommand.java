package dev.chorus.engine.cli;

import dev.chorus.engine.finetune.SyntheticStories;
import dev.chorus.engine.finetune.TrainingData;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Writes in-domain synthetic stories as training JSONL, to --out or stdout. */
final class MakeDataCommand {
    private MakeDataCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of());
        String domain = args.requiredString("domain");
        int n = args.integer("n", 200, 1, 10_000_000);
        long seed = args.longValue("seed", 1);
        Optional<Path> file = args.path("out");
        args.rejectUnknown();
        if (!SyntheticStories.domains().contains(domain)) {
            throw new UsageException("unknown --domain '" + domain + "' (known: " + String.join(", ", SyntheticStories.domains()) + ")");
        }
        var examples = SyntheticStories.generate(domain, n, seed);
        if (file.isEmpty()) {
            TrainingData.write(examples, new OutputStreamWriter(out, StandardCharsets.UTF_8));
            return;
        }
        try (Writer w = Files.newBufferedWriter(file.get(), StandardCharsets.UTF_8)) {
            TrainingData.write(examples, w);
        } catch (IOException e) {
            throw new UsageException("cannot write " + file.get() + ": " + e.getMessage());
        }
        err.println("wrote " + n + " " + domain + " examples (seed " + seed + ") to " + file.get());
    }
}
