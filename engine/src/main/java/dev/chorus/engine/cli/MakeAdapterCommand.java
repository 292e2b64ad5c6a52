package dev.chorus.engine.cli;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Writes a seeded random adapter for a base model as PEFT files: something to serve and benchmark
 * before any adapter has been trained. Its output is different from the base's, not better.
 */
final class MakeAdapterCommand {
    static final String USAGE = """
            make-adapter --model PATH --out DIR [--type lora|qa-lora|scale] [--rank R] [--targets all|qkvo]
                     [--std S] [--seed S]""";

    record Options(Path model, Path out, AdapterType type, int rank, Set<Projection> targets, float std, long seed) {
        Options {
            OptionChecks.between("rank", rank, 1, 1024);
            OptionChecks.within("std", std, 0f, 10f, true);
            OptionChecks.absent(out);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of());
            AdapterType type;
            try {
                type = AdapterType.parse(args.string("type").orElse("lora"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            Options o = new Options(args.requiredPath("model"), args.requiredPath("out"), type, args.integer("rank").orElse(8),
                    CliArgs.allOrQkvo(args.string("targets").orElse("all")), args.number("std").orElse(0.05f), args.longValue("seed").orElse(1L));
            args.rejectUnknown();
            return o;
        }
    }

    private MakeAdapterCommand() {
    }

    static void run(List<String> argv, PrintStream stdout, PrintStream err) {
        Options o = Options.parse(argv);
        Path modelPath = o.model();
        Path out = o.out();
        AdapterType type = o.type();
        Set<Projection> targets = o.targets();
        long seed = o.seed();
        try (LoadedModel model = LoadedModel.load(modelPath, Optional.empty(), "cpu")) {
            Adapter adapter = RandomAdapters.generate(model.config(), type, o.rank(), targets, o.std(), seed, Fingerprint.of(modelPath));
            AdapterFiles.write(adapter, out);
            err.println("wrote a random " + type.label() + " adapter (rank " + adapter.rank() + ", " + targets.size()
                    + " target projections per layer, seed " + seed + ") for " + model.name() + " to " + out);
        }
    }
}
