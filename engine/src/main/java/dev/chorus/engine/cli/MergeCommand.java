package dev.chorus.engine.cli;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.compress.CompressedCheckpoint;
import dev.chorus.engine.compress.CompressedParameters;
import dev.chorus.engine.finetune.AdapterMerge;
import dev.chorus.engine.finetune.FrozenLinears;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** chorus merge: folds a sparse-peft or qa-sparse-peft adapter into its compressed base, writing a compressed checkpoint. */
final class MergeCommand {
    private static final Set<String> WEIGHT_FILES = Set.of("model.safetensors", "config.json", CompressedCheckpoint.MANIFEST);

    private MergeCommand() {
    }

    static void run(List<String> argv, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of());
        Path modelPath = args.requiredPath("model");
        Path adapterDir = args.requiredPath("adapter");
        Path out = args.requiredPath("out");
        args.rejectUnknown();
        if (Files.exists(out)) {
            throw new UsageException(out + " already exists; choose a new --out directory");
        }
        FrozenLinears frozen;
        try {
            frozen = FrozenLinears.read(modelPath);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Adapter adapter = AdapterFiles.read(adapterDir, frozen.base().config(), 1024, Fingerprint.of(modelPath));
        CompressedParameters merged;
        try {
            merged = AdapterMerge.merge(frozen, adapter);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        CompressedCheckpoint.write(merged, out, tokenizerFiles(modelPath));
        err.printf(Locale.ROOT, "merged %s (%s, rank %d) into %s: %s, sparsity %.4f kept%n", adapterDir, adapter.type().label(), adapter.rank(),
                out, merged.manifest().bits() == null ? "sparse float weights" : "INT" + merged.manifest().bits() + " codes on the base's grid",
                merged.manifest().sparsity());
    }

    /** Everything beside the weights (tokenizer files) travels with the merged checkpoint. */
    private static List<Path> tokenizerFiles(Path base) {
        try (Stream<Path> files = Files.list(base)) {
            return files.filter(Files::isRegularFile).filter(f -> !WEIGHT_FILES.contains(f.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new UsageException("cannot list " + base + ": " + e.getMessage());
        }
    }
}
