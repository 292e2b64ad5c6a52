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
    private SynthCommand() {
    }

    static void run(List<String> argv, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of());
        SyntheticShape shape;
        try {
            shape = SyntheticShape.parse(args.requiredString("shape"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path out = args.requiredPath("out");
        long seed = args.longValue("seed", 42);
        args.rejectUnknown();
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new UsageException("directory of --out does not exist: " + parent);
        }
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(shape.config(), seed), out);
        err.println("wrote " + shape + " (" + shape.config() + ") to " + out);
    }
}
