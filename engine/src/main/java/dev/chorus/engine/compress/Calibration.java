package dev.chorus.engine.compress;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.sampling.Sampler;
import dev.chorus.engine.sampling.SamplingParams;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token sequences for calibration and held-out evaluation: sampled from the model itself
 * (data-free, as LLM-QAT does; temperature 1, seeded) or read from a text file, one per line.
 * Calibration and held-out data use different seeds, so held-out samples never calibrate.
 */
public final class Calibration {
    private static final int ROWS_PER_BATCH = 16;

    /** Where calibration (or held-out) sequences come from. */
    public sealed interface Source {
        /** How chorus_compression.json records the source: self:N or the file as given. */
        String label();

        /** {@code count} sequences sampled from the model itself. */
        record SelfSampled(int count) implements Source {
            public static final int MAX_COUNT = 100_000;

            public SelfSampled {
                if (count < 1 || count > MAX_COUNT) {
                    throw new IllegalArgumentException("self-sampled calibration needs 1 <= N <= " + MAX_COUNT + ", got " + count);
                }
            }

            @Override
            public String label() {
                return "self:" + count;
            }
        }

        /** One sequence per non-empty line of a text file. */
        record TextFile(Path file) implements Source {
            @Override
            public String label() {
                return file.toString();
            }
        }
    }

    private Calibration() {
    }

    /** The sequences of {@code source}, at most {@code length} tokens each; self-sampled ones use {@code seed}. */
    public static List<int[]> sequences(Source source, LoadedModel model, int length, long seed) {
        if (source instanceof Source.SelfSampled self) {
            return selfGenerated(model, self.count(), length, seed);
        }
        return fromTextFile(((Source.TextFile) source).file(), model.requireTokenizer(), length);
    }

    /** {@code count} sequences of exactly {@code length} tokens: BOS, then sampled tokens. */
    public static List<int[]> selfGenerated(LoadedModel model, int count, int length, long seed) {
        if (count < 1 || length < 2 || length > model.config().maxPositions()) {
            throw new IllegalArgumentException("need count >= 1 and 2 <= length <= " + model.config().maxPositions());
        }
        List<int[]> out = new ArrayList<>(count);
        for (int first = 0; first < count; first += ROWS_PER_BATCH) {
            int rows = Math.min(ROWS_PER_BATCH, count - first);
            out.addAll(sampleBatch(model, rows, length, seed, first));
        }
        return out;
    }

    private static List<int[]> sampleBatch(LoadedModel model, int rows, int length, long seed, int firstIndex) {
        int vocab = model.config().vocabSize();
        int[][] seqs = new int[rows][length];
        Sampler[] samplers = new Sampler[rows];
        int[] slots = new int[rows];
        for (int r = 0; r < rows; r++) {
            seqs[r][0] = model.config().bosId();
            slots[r] = r;
            // One independent stream per sequence index, so the result does not depend on batching.
            samplers[r] = new Sampler(new SamplingParams(1f, 0, 1f, seed * 1_000_003L + firstIndex + r));
        }
        try (KvCache cache = model.model().newCache(rows, length)) {
            for (int pos = 0; pos + 1 < length; pos++) {
                int[] starts = new int[rows];
                int[][] tokens = new int[rows][];
                for (int r = 0; r < rows; r++) {
                    starts[r] = pos;
                    tokens[r] = new int[] {seqs[r][pos]};
                }
                float[] logits;
                try (NDManager step = model.manager().newSubManager()) {
                    logits = model.model().lastLogits(step, cache, slots, starts, tokens, null);
                }
                for (int r = 0; r < rows; r++) {
                    seqs[r][pos + 1] = samplers[r].next(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab));
                }
            }
        }
        return Arrays.asList(seqs);
    }

    /** One sample per non-empty line, BOS included, truncated to {@code maxLength} tokens. */
    public static List<int[]> fromTextFile(Path file, Tokenizer tokenizer, int maxLength) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot read calibration text: " + e.getMessage(), e);
        }
        List<int[]> out = new ArrayList<>();
        for (String line : lines) {
            if (!line.isBlank()) {
                int[] ids = tokenizer.encode(line.strip());
                out.add(ids.length > maxLength ? Arrays.copyOf(ids, maxLength) : ids);
            }
        }
        if (out.isEmpty()) {
            throw new CheckpointFormatException(file + ": no non-empty lines to use as samples");
        }
        return out;
    }
}
