package dev.chorus.engine.cli;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.finetune.AdapterMerge;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * chorus merge: folds an adapter into its base and writes a compressed checkpoint: sparse-peft,
 * qa-sparse-peft and qa-lora into a compressed base, lora into a dense one.
 */
final class MergeCommand {
    static final String USAGE = "merge    --model COMPRESSED_BASE --adapter DIR --out DIR";

    record Options(Path model, Path adapter, Path out) {
        Options {
            OptionChecks.absent(out);
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of());
            Options o = new Options(args.requiredPath("model"), args.requiredPath("adapter"), args.requiredPath("out"));
            args.rejectUnknown();
            return o;
        }
    }

    private MergeCommand() {
    }

    static void run(List<String> argv, PrintStream stdout, PrintStream err) {
        Options o = Options.parse(argv);
        Path modelPath = o.model();
        Path adapterDir = o.adapter();
        Path out = o.out();
        Checkpoint base = Checkpoints.open(modelPath);
        String fingerprint = Fingerprint.of(modelPath);
        CompressedParameters merged;
        Adapter adapter;
        try {
            if (base instanceof Checkpoint.Compressed) {
                FrozenLinears frozen = FrozenLinears.read(modelPath);
                adapter = AdapterFiles.read(adapterDir, frozen.base().config(), 1024, fingerprint);
                merged = AdapterMerge.merge(frozen, adapter);
            } else {
                DenseParameters dense = base.dense();
                adapter = AdapterFiles.read(adapterDir, dense.config(), 1024, fingerprint);
                merged = AdapterMerge.mergeDense(dense, adapter, fingerprint);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        CompressedCheckpoint.write(merged, out, base.companionFiles());
        String form = merged.manifest().bits() == null ? (merged.manifest().sparsity() > 0 ? "sparse float weights" : "dense float weights")
                : zeroPointsMoved(merged) ? "INT" + merged.manifest().bits()
                        + ", folded into the zero points (pruned weights take the delta; qa-sparse-peft keeps them 0)"
                : "INT" + merged.manifest().bits() + " codes on the base's grid";
        err.printf(Locale.ROOT, "merged %s (%s, rank %d) into %s: %s, base sparsity %.4f%n", adapterDir, adapter.type().label(), adapter.rank(),
                out, form, merged.manifest().sparsity());
    }

    /** qa-lora and qa-hira fold into the zero points; qa-sparse-peft writes new codes on the base's grid. */
    private static boolean zeroPointsMoved(CompressedParameters merged) {
        return merged.blocks().stream().flatMap(b -> Arrays.stream(Projection.values()).map(b::linear))
                .anyMatch(w -> w instanceof QuantizedMatrix q && q.zeroShift() != null);
    }
}
