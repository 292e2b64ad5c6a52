package dev.chorus.engine.merged;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.compress.Calibration;
import dev.chorus.engine.compress.CompressionListener;
import dev.chorus.engine.compress.CompressionSettings;
import dev.chorus.engine.compress.Compressor;
import dev.chorus.engine.compress.PruningMethod;
import dev.chorus.engine.compress.Quantization;
import dev.chorus.engine.compress.SparsityPattern;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import dev.chorus.engine.sampling.Sampler;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

/** The bases merged-variant tests run on: TinyStories-656K dense, and pruned 50% + INT4 (group 32, the random qa adapters' group). */
public final class MergedBases {
    private static Path compressed;

    private MergedBases() {
    }

    public static Path dense() {
        return TestModels.tinyStories656k();
    }

    /** Compressed once per test JVM into a temporary directory. */
    public static synchronized Path compressed() throws IOException {
        if (compressed != null) {
            return compressed;
        }
        Path source = dense();
        Path dir = Files.createTempDirectory("chorus-merged-base");
        try (LoadedModel model = LoadedModel.load(source, Optional.empty(), "cpu")) {
            CompressionSettings settings = new CompressionSettings(new SparsityPattern.Unstructured(0.5), PruningMethod.WANDA, Optional.empty(),
                    new Quantization.GroupWise(new QuantSpec(4, RandomAdapters.QA_GROUP, false), false));
            CompressedParameters p = new Compressor(HfCheckpoint.read(source), settings, CompressionListener.NONE)
                    .compress(Calibration.selfGenerated(model, 4, 32, 11), "sha256:test", "self:4", model.manager());
            CompressedCheckpoint.write(p, dir, List.of(source.resolve("tokenizer.json"), source.resolve("tokenizer_config.json")));
        }
        compressed = dir;
        return dir;
    }

    public static Adapter random(ModelConfig c, AdapterType type, long seed) {
        // qa-sparse-peft's delta must move weights by whole grid steps to change anything: a larger spread.
        double std = type == AdapterType.QA_SPARSE_PEFT ? 0.3 : 0.05;
        return RandomAdapters.generate(c, type, type == AdapterType.SCALE ? 0 : 8, EnumSet.allOf(Projection.class), std, seed, null);
    }

    /** Greedy decoding of one prompt on {@code model} (rows: the adapter, or null), and the first step's logits in {@code firstLogits}. */
    public static int[] greedy(LoadedModel base, LlamaModel model, RowAdapters rows, int[] prompt, int tokens, float[][] firstLogits) {
        int vocab = base.config().vocabSize();
        int[] out = new int[tokens];
        try (KvCache cache = base.model().newCache(1, base.config().maxPositions())) {
            int[][] row = {prompt};
            int position = 0;
            for (int t = 0; t < tokens; t++) {
                try (NDManager step = base.manager().newSubManager()) {
                    float[] logits = model.forward(step, cache, new int[] {0}, new int[] {position}, row, false, rows).toFloatArray();
                    if (t == 0 && firstLogits != null) {
                        firstLogits[0] = logits;
                    }
                    out[t] = Sampler.argMax(java.util.Arrays.copyOf(logits, vocab));
                }
                position += row[0].length;
                row = new int[][] {{out[t]}};
            }
        }
        return out;
    }
}
