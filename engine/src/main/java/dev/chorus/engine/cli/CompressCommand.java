package dev.chorus.engine.cli;

import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.compress.Calibration;
import dev.chorus.engine.compress.CompressionSettings;
import dev.chorus.engine.compress.Compressor;
import dev.chorus.engine.compress.EbftRepair;
import dev.chorus.engine.compress.PruningMethod;
import dev.chorus.engine.compress.Quantization;
import dev.chorus.engine.compress.SparsityPattern;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.model.LoadedModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** chorus compress: prune, optionally repair, quantize, and write a compressed checkpoint directory. */
final class CompressCommand {
    static final String USAGE = """
            compress --model IN --out DIR --sparsity 0.5|2:4|4:8 [--bits 4|8] [--group-size 32|64|128] [--sym] [--gptq]
                     [--ebft] [--ebft-epochs N] [--bcq Q] [--calibration self:N|FILE] [--calibration-length L]
                     [--method wanda|magnitude] [--seed S]""";
    static final long CALIBRATION_SEED = 1234;

    /** @param repair empty: no EBFT; {@code seed} seeds both self-sampled calibration and EBFT's batch order */
    record Options(Path model, Path out, SparsityPattern pattern, PruningMethod method, Optional<EbftRepair.Settings> repair,
            Quantization quantization, Calibration.Source calibration, int calibrationLength, long seed) {
        Options {
            OptionChecks.between("calibration-length", calibrationLength, 2, 1 << 16);
            if (calibration instanceof Calibration.Source.TextFile text && !Files.isRegularFile(text.file())) {
                throw new UsageException("--calibration: no such file " + text.file() + " (or use self:N)");
            }
            if (Files.exists(out) && !isEmptyDirectory(out)) {
                throw new UsageException("--out " + out + " exists and is not an empty directory");
            }
        }

        static Options parse(List<String> argv) {
            CliArgs args = new CliArgs(argv, Set.of("sym", "gptq", "ebft"));
            Path model = args.requiredPath("model");
            Path out = args.requiredPath("out");
            SparsityPattern pattern;
            try {
                pattern = SparsityPattern.parse(args.requiredString("sparsity"));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--sparsity: " + e.getMessage());
            }
            Quantization quantization = quantization(args);
            long seed = args.longValue("seed").orElse(CALIBRATION_SEED);
            int ebftEpochs = OptionChecks.between("ebft-epochs", args.integer("ebft-epochs").orElse(EbftRepair.Settings.DEFAULTS.epochs()), 1,
                    10_000);
            Optional<EbftRepair.Settings> repair = args.flag("ebft")
                    ? Optional.of(EbftRepair.Settings.DEFAULTS.withEpochs(ebftEpochs).withSeed(seed)) : Optional.empty();
            Options o = new Options(model, out, pattern, method(args.string("method").orElse("wanda")), repair, quantization,
                    calibration(args.string("calibration").orElse("self:64")), args.integer("calibration-length").orElse(128), seed);
            args.rejectUnknown();
            return o;
        }

        CompressionSettings settings() {
            return new CompressionSettings(pattern, method, repair, quantization);
        }

        private static PruningMethod method(String text) {
            try {
                return PruningMethod.parse(text);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--method " + e.getMessage());
            }
        }

        /** --bits [--group-size --sym --gptq], --bcq, or neither. */
        private static Quantization quantization(CliArgs args) {
            Optional<String> bits = args.string("bits");
            int groupSize = OptionChecks.between("group-size", args.integer("group-size").orElse(128), 1, 1 << 16);
            boolean symmetric = args.flag("sym");
            boolean gptq = args.flag("gptq");
            Optional<Integer> bcq = args.integer("bcq");
            if (bits.isPresent() && bcq.isPresent()) {
                throw new UsageException("choose either integer quantization (--bits) or binary coding (--bcq), not both");
            }
            if (gptq && bits.isEmpty()) {
                throw new UsageException("--gptq needs integer quantization (--bits 4 or 8)");
            }
            if (bcq.isPresent()) {
                int planes = OptionChecks.between("bcq", bcq.get(), Quantization.BinaryCoding.MIN_PLANES, Quantization.BinaryCoding.MAX_PLANES);
                return new Quantization.BinaryCoding(planes);
            }
            if (bits.isEmpty()) {
                return new Quantization.None();
            }
            try {
                return new Quantization.GroupWise(new QuantSpec(Integer.parseInt(bits.get()), groupSize, symmetric), gptq);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--bits must be 4 or 8 and --group-size 32, 64 or 128 (got " + bits.get() + ", " + groupSize + ")");
            }
        }

        /** "self:N" samples N sequences from the model itself (data-free); anything else is a text file, one sample per line. */
        private static Calibration.Source calibration(String spec) {
            if (!spec.startsWith("self:")) {
                return new Calibration.Source.TextFile(Path.of(spec));
            }
            int n;
            try {
                n = Integer.parseInt(spec.substring(5));
            } catch (NumberFormatException e) {
                throw new UsageException("--calibration self:N needs an integer N, got '" + spec + "'");
            }
            try {
                return new Calibration.Source.SelfSampled(n);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--calibration " + e.getMessage());
            }
        }
    }

    private CompressCommand() {
    }

    static void run(List<String> argv, PrintStream stdout, PrintStream err) {
        Options o = Options.parse(argv);
        DenseParameters dense = readDense(o.model());
        try (LoadedModel model = LoadedModel.load(o.model(), Optional.empty(), "cpu")) {
            int length = Math.min(o.calibrationLength(), model.config().maxPositions());
            List<int[]> samples = Calibration.sequences(o.calibration(), model, length, o.seed());
            err.printf(Locale.ROOT, "compressing %s: %s %s, %s, %d calibration sequences%n", o.model(), o.method().label(), o.pattern(),
                    describe(o.quantization()), samples.size());
            CompressedParameters compressed = new Compressor(dense, o.settings(), new ProgressBar(err))
                    .compress(samples, Fingerprint.of(o.model()), o.calibration().label(), model.manager());
            CompressedCheckpoint.write(compressed, o.out(), Checkpoints.open(o.model()).companionFiles());
            err.printf(Locale.ROOT, "wrote %s: sparsity %.4f, block linears %d bytes (%.3f of fp32)%n", o.out(), compressed.manifest().sparsity(),
                    compressed.linearBytes(), (double) compressed.linearBytes() / compressed.linearBytesFp32());
        }
    }

    static DenseParameters readDense(Path in) {
        Checkpoint checkpoint = Checkpoints.open(in);
        if (checkpoint instanceof Checkpoint.Compressed) {
            throw new CheckpointFormatException(in + " is already compressed; compress the dense source checkpoint");
        }
        return checkpoint.dense();
    }

    private static String describe(Quantization q) {
        if (q instanceof Quantization.GroupWise g) {
            return "INT" + g.spec().bits() + " g" + g.spec().groupSize() + (g.gptq() ? " GPTQ" : " RTN");
        }
        return q instanceof Quantization.BinaryCoding b ? "BCQ q=" + b.planes() : "no quantization";
    }

    private static boolean isEmptyDirectory(Path p) {
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }
}
