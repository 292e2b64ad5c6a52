package dev.chorus.engine.cli;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Writes a seeded random adapter for a base model as PEFT files: something to serve and benchmark
 * before any adapter has been trained. Its output is different from the base's, not better.
 */
final class MakeAdapterCommand {
    private MakeAdapterCommand() {
    }

    static void run(List<String> argv, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of());
        Path modelPath = args.requiredPath("model");
        Path out = args.requiredPath("out");
        AdapterType type;
        try {
            type = AdapterType.parse(args.string("type").orElse("lora"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int rank = args.integer("rank", 8, 1, 1024);
        String targetsText = args.string("targets").orElse("all");
        Set<Projection> targets = CliArgs.allOrQkvo(targetsText);
        float std = args.number("std", 0.05f, 0f, 10f, true);
        long seed = args.longValue("seed", 1);
        args.rejectUnknown();
        if (Files.exists(out)) {
            throw new UsageException(out + " already exists; choose a new --out directory");
        }
        try (LoadedModel model = LoadedModel.load(modelPath, Optional.empty(), "cpu")) {
            Adapter adapter = RandomAdapters.generate(model.config(), type, rank, targets, std, seed, Fingerprint.of(modelPath));
            AdapterFiles.write(adapter, out);
            err.println("wrote a random " + type.label() + " adapter (rank " + adapter.rank() + ", " + targets.size()
                    + " target projections per layer, seed " + seed + ") for " + model.name() + " to " + out);
        }
    }
}
