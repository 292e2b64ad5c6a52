package dev.chorus.engine.cli;

import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.compress.Calibration;
import dev.chorus.engine.compress.CompressionSettings;
import dev.chorus.engine.compress.Compressor;
import dev.chorus.engine.compress.EbftRepair;
import dev.chorus.engine.compress.SparsityPattern;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** chorus compress: prune, optionally repair, quantize, and write a compressed checkpoint directory. */
final class CompressCommand {
    static final long CALIBRATION_SEED = 1234;

    private CompressCommand() {
    }

    static void run(List<String> argv, PrintStream err) {
        CliArgs args = new CliArgs(argv, Set.of("sym", "gptq", "ebft"));
        Path in = args.requiredPath("model");
        Path out = args.requiredPath("out");
        SparsityPattern pattern;
        try {
            pattern = SparsityPattern.parse(args.requiredString("sparsity"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--sparsity: " + e.getMessage());
        }
        Optional<String> bitsText = args.string("bits");
        int groupSize = args.integer("group-size", 128, 1, 1 << 16);
        boolean symmetric = args.flag("sym");
        boolean gptq = args.flag("gptq");
        boolean ebft = args.flag("ebft");
        int bcq = args.integer("bcq", 0, 2, 4);
        String calibration = args.string("calibration").orElse("self:64");
        String method = args.string("method").orElse("wanda");
        int length = args.integer("calibration-length", 128, 2, 1 << 16);
        long seed = args.longValue("seed", CALIBRATION_SEED);
        int ebftEpochs = args.integer("ebft-epochs", EbftRepair.Settings.DEFAULTS.epochs(), 1, 10_000);
        args.rejectUnknown();
        if (!method.equals("wanda") && !method.equals("magnitude")) {
            throw new UsageException("--method must be wanda or magnitude, got '" + method + "'");
        }
        QuantSpec quant = null;
        if (bitsText.isPresent()) {
            int bits;
            try {
                bits = Integer.parseInt(bitsText.get());
                quant = new QuantSpec(bits, groupSize, symmetric);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--bits must be 4 or 8 and --group-size 32, 64 or 128 (got " + bitsText.get() + ", " + groupSize + ")");
            }
        }
        CompressionSettings settings;
        try {
            EbftRepair.Settings d = EbftRepair.Settings.DEFAULTS;
            settings = new CompressionSettings(pattern, method.equals("wanda"), ebft,
                    new EbftRepair.Settings(ebftEpochs, d.batchSize(), d.learningRate(), seed), quant, gptq, bcq);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (Files.exists(out) && !isEmptyDirectory(out)) {
            throw new UsageException("--out " + out + " exists and is not an empty directory");
        }

        DenseParameters dense = readDense(in);
        try (LoadedModel model = LoadedModel.load(in, Optional.empty(), "cpu")) {
            int len = Math.min(length, model.config().maxPositions());
            List<int[]> samples = calibration(calibration, model, len, seed);
            err.printf(Locale.ROOT, "compressing %s: %s %s, %s, %d calibration sequences%n", in, settings.method(), pattern,
                    quant != null ? "INT" + quant.bits() + " g" + quant.groupSize() + (gptq ? " GPTQ" : " RTN") : bcq > 0 ? "BCQ q=" + bcq : "no quantization",
                    samples.size());
            CompressedParameters compressed = new Compressor(dense, settings, new ProgressBar(err))
                    .compress(samples, Fingerprint.of(in), calibration, model.manager());
            CompressedCheckpoint.write(compressed, out, Checkpoints.open(in).companionFiles());
            err.printf(Locale.ROOT, "wrote %s: sparsity %.4f, block linears %d bytes (%.3f of fp32)%n", out, compressed.manifest().sparsity(),
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

    /** "self:N" samples N sequences from the model itself (data-free); anything else is a text file, one sample per line. */
    static List<int[]> calibration(String spec, LoadedModel model, int length, long seed) {
        if (spec.startsWith("self:")) {
            int n;
            try {
                n = Integer.parseInt(spec.substring(5));
            } catch (NumberFormatException e) {
                throw new UsageException("--calibration self:N needs an integer N, got '" + spec + "'");
            }
            if (n < 1 || n > 100_000) {
                throw new UsageException("--calibration self:N needs 1 <= N <= 100000");
            }
            return Calibration.selfGenerated(model, n, length, seed);
        }
        Path file = Path.of(spec);
        if (!Files.isRegularFile(file)) {
            throw new UsageException("--calibration: no such file " + file + " (or use self:N)");
        }
        return Calibration.fromTextFile(file, model.requireTokenizer(), length);
    }

    private static boolean isEmptyDirectory(Path p) {
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
