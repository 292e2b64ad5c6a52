package dev.chorus.engine.cli;

import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.synth.SyntheticCheckpoint;
import dev.chorus.engine.synth.SyntheticShape;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** Writes a llama2.c checkpoint of a named shape with seeded random weights. */
final class SynthCommand {
    static final String USAGE = "synth    --shape stories15M|stories42M|stories110M --out FILE [--seed S]";

    record Options(SyntheticShape shape, Path out, long seed) {
        Options {
            Path parent = out.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new UsageException("directory of --out does not exist: " + parent);
            }
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of());
            SyntheticShape shape;
            try {
                shape = SyntheticShape.parse(args.requiredString("shape"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            Options o = new Options(shape, args.requiredPath("out"), args.longValue("seed").orElse(42L));
            args.rejectUnknown();
            return o;
        }
    }

    private SynthCommand() {
    }

    static void run(List<String> argv, PrintStream out, PrintStream err) {
        Options o = Options.parse(argv);
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(o.shape().config(), o.seed()), o.out());
        err.println("wrote " + o.shape() + " (" + o.shape().config() + ") to " + o.out());
    }
}
