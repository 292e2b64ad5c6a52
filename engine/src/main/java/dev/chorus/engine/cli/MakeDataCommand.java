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
    static final String USAGE = "make-data --domain pirates|space|cooking|sports [--n N] [--seed S] [--out FILE]";

    /** @param file empty: stdout */
    record Options(String domain, int n, long seed, Optional<Path> file) {
        Options {
            if (!SyntheticStories.domains().contains(domain)) {
                throw new UsageException("unknown --domain '" + domain + "' (known: " + String.join(", ", SyntheticStories.domains()) + ")");
            }
            OptionChecks.between("n", n, 1, 10_000_000);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of());
            Options o = new Options(args.requiredString("domain"), args.integer("n").orElse(200), args.longValue("seed").orElse(1L),
                    args.path("out"));
            args.rejectUnknown();
            return o;
        }
    }

    private MakeDataCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        Options o = Options.parse(argv);
        var examples = SyntheticStories.generate(o.domain(), o.n(), o.seed());
        if (o.file().isEmpty()) {
            TrainingData.write(examples, new OutputStreamWriter(out, StandardCharsets.UTF_8));
            return;
        }
        try (Writer w = Files.newBufferedWriter(o.file().get(), StandardCharsets.UTF_8)) {
            TrainingData.write(examples, w);
        } catch (IOException e) {
            throw new UsageException("cannot write " + o.file().get() + ": " + e.getMessage());
        }
        err.println("wrote " + o.n() + " " + o.domain() + " examples (seed " + o.seed() + ") to " + o.file().get());
    }
}
