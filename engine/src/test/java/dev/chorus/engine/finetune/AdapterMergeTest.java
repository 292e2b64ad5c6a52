package dev.chorus.engine.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.checkpoint.Checkpoints;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
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
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merges keep each method's promise, checked rather than assumed: sparse-peft merged logits equal
 * the masked unmerged forward and every pruned weight stays exactly 0; qa-sparse-peft gives an INT
 * model with byte-identical scales and zero points, the same pruned positions, and the fake-quant
 * training forward's logits; qa-lora folds into the zero points alone; lora merges into a dense base.
 */
class AdapterMergeTest {
    @TempDir
    static Path dir;
    static Path base;
    static FrozenLinears frozen;
    static LoadedModel dense;

    @BeforeAll
    static void compressTheBase() throws Exception {
        Path source = TestModels.tinyStories656k();
        dense = LoadedModel.load(source, Optional.empty(), "cpu");
        CompressionSettings settings = new CompressionSettings(new SparsityPattern.Unstructured(0.5), PruningMethod.WANDA, Optional.empty(),
                new Quantization.GroupWise(new QuantSpec(4, 128, false), false));
        List<int[]> calibration = Calibration.selfGenerated(dense, 8, 64, 11);
        CompressedParameters compressed = new Compressor(HfCheckpoint.read(source), settings, CompressionListener.NONE)
                .compress(calibration, "sha256:test", "self:8", dense.manager());
        base = dir.resolve("w50-int4");
        List<Path> tokenizer = new ArrayList<>();
        try (Stream<Path> files = Files.list(source)) {
            files.filter(f -> f.getFileName().toString().startsWith("tokenizer") || f.getFileName().toString().startsWith("special"))
                    .forEach(tokenizer::add);
        }
        CompressedCheckpoint.write(compressed, base, tokenizer);
        frozen = FrozenLinears.read(base);
    }

    @AfterAll
    static void close() {
        dense.close();
    }

    static Adapter train(AdapterType type) {
        return train(type, base);
    }

    static Adapter train(AdapterType type, Path model) {
        TrainingRun run = new TrainingRun(AdapterKind.of(type, 8, 16f, () -> 128), EnumSet.allOf(Projection.class), 30, 1);
        Optimization optimization = new Optimization(3e-3f, Optimization.Decay.COSINE, 3, 0f, 1f, 8, 1, 0, 0);
        try (NDManager m = Engine.getInstance().newBaseManager();
                AdapterTrainer t = new AdapterTrainer(Checkpoints.open(model).dense(), () -> frozen, dense.requireTokenizer(),
                        dense.config().eosId(), run, optimization, null, null, m, DataType.FLOAT32)) {
            return t.train(SyntheticStories.generate("cooking", 64, 1), List.of(), p -> { }).adapter();
        }
    }

    /** The adapter merged into the compressed base and written as a checkpoint. */
    static Path mergeAndWrite(Adapter adapter, String name) {
        Path out = dir.resolve(name);
        CompressedCheckpoint.write(AdapterMerge.merge(frozen, adapter), out, List.of(base.resolve("tokenizer.json"), base.resolve("tokenizer_config.json")));
        return out;
    }

    /** Max |unmerged logits − merged logits| over a batch of stories. */
    static double logitGap(Adapter adapter, Path merged) {
        return logitGap(adapter, base, merged);
    }

    static double logitGap(Adapter adapter, Path unmerged, Path merged) {
        try (NDManager m = Engine.getInstance().newBaseManager()) {
            var cfg = dense.config();
            CausalLm unmergedModel = new CausalLm(Checkpoints.open(unmerged).dense(), cfg.maxPositions(), m, DataType.FLOAT32);
            TrainableAdapter trained = new TrainableAdapter(cfg, adapter.kind(), adapter.targets(), adapter, () -> frozen, m, DataType.FLOAT32, 0);
            CausalLm mergedModel = new CausalLm(Checkpoints.open(merged).dense(), cfg.maxPositions(), m, DataType.FLOAT32);
            TrainableAdapter none = TrainableAdapter.none(cfg, m);
            List<TokenBatches.Encoded> data = TokenBatches.encode(SyntheticStories.generate("cooking", 8, 99), dense.requireTokenizer(),
                    cfg.eosId(), cfg.maxPositions());
            TokenBatches.Batch batch = TokenBatches.batch(data, TokenBatches.length(data), m, DataType.FLOAT32);
            NDArray a = unmergedModel.logits(batch.inputs(), trained, m);
            NDArray b = mergedModel.logits(batch.inputs(), none, m);
            assertTrue(a.sub(unmergedModel.logits(batch.inputs(), none, m)).abs().max().getFloat() > 1e-2, "the adapter changes the logits");
            return a.sub(b).abs().max().getFloat();
        }
    }

    @Test
    void sparsePeftMergesToSparseWeightsThatComputeTheMaskedForward() throws Exception {
        Adapter adapter = train(AdapterType.SPARSE_PEFT);
        Path out = mergeAndWrite(adapter, "sparse-peft-merged");
        CompressedParameters merged = CompressedCheckpoint.read(out);
        for (int layer = 0; layer < merged.blocks().size(); layer++) {
            for (Projection p : Projection.values()) {
                var before = frozen.base().blocks().get(layer).linear(p);
                MaskedMatrix after = (MaskedMatrix) merged.blocks().get(layer).linear(p);
                assertEquals(before.mask(), after.mask(), "same mask");
                float[] w = after.dequantize();
                float[] w0 = before.dequantize();
                int changed = 0;
                for (int i = 0; i < w.length; i++) {
                    boolean pruned = !after.mask().kept(i / after.cols(), i % after.cols());
                    if (pruned) {
                        assertEquals(0f, w[i], 0f, "pruned entries stay exactly 0");
                        assertEquals(0f, after.values()[i], 0f, "stored as 0 too");
                    }
                    changed += w[i] != w0[i] ? 1 : 0;
                }
                assertTrue(changed > 0, "the delta is merged in " + layer + " " + p);
            }
        }
        double gap = logitGap(adapter, out);
        System.out.println("sparse-peft merge: max |logit gap| " + gap);
        assertTrue(gap <= 1e-4, "merged vs unmerged masked forward: max |Δlogit| = " + gap);
        try (LoadedModel served = LoadedModel.load(out, Optional.empty(), "cpu")) { // loads and runs like any model
            assertEquals(dense.config().vocabSize(), served.config().vocabSize());
        }
    }

    @Test
    void qaSparsePeftMergesToNewCodesOnTheSameGrid() throws Exception {
        Adapter adapter = train(AdapterType.QA_SPARSE_PEFT);
        Path out = mergeAndWrite(adapter, "qa-sparse-peft-merged");
        CompressedParameters merged = CompressedCheckpoint.read(out);
        long changedCodes = 0;
        for (int layer = 0; layer < merged.blocks().size(); layer++) {
            for (Projection p : Projection.values()) {
                QuantizedMatrix before = (QuantizedMatrix) frozen.base().blocks().get(layer).linear(p);
                QuantizedMatrix after = (QuantizedMatrix) merged.blocks().get(layer).linear(p);
                assertArrayEquals(before.scales(), after.scales(), "scales byte-identical");
                assertArrayEquals(before.zeros(), after.zeros(), "zero points byte-identical");
                assertEquals(before.mask(), after.mask(), "same pruned positions");
                for (int r = 0; r < after.rows(); r++) {
                    for (int c = 0; c < after.cols(); c++) {
                        if (!after.mask().kept(r, c)) {
                            assertEquals(after.zero(r, c / after.spec().groupSize()), after.code(r, c), "a pruned code is its zero point");
                        }
                        changedCodes += after.code(r, c) != before.code(r, c) ? 1 : 0;
                    }
                }
            }
        }
        assertTrue(changedCodes > 0, "training moved some codes");
        double gap = logitGap(adapter, out);
        System.out.println("qa-sparse-peft merge: max |logit gap| " + gap + ", codes changed " + changedCodes);
        assertTrue(gap <= 1e-5, "merged INT model vs fake-quant training forward: max |Δlogit| = " + gap);
    }

    @Test
    void qaLoraFoldsIntoTheZeroPointsAlone() throws Exception {
        Adapter adapter = train(AdapterType.QA_LORA);
        Path out = mergeAndWrite(adapter, "qa-lora-folded");
        CompressedParameters merged = CompressedCheckpoint.read(out);
        for (int layer = 0; layer < merged.blocks().size(); layer++) {
            for (Projection p : Projection.values()) {
                QuantizedMatrix before = (QuantizedMatrix) frozen.base().blocks().get(layer).linear(p);
                QuantizedMatrix after = (QuantizedMatrix) merged.blocks().get(layer).linear(p);
                assertArrayEquals(before.codes(), after.codes(), "codes unchanged");
                assertArrayEquals(before.scales(), after.scales(), "scales unchanged");
                assertArrayEquals(before.zeros(), after.zeros(), "integer zero points unchanged; the fold is the shift");
                assertTrue(after.zeroShift() != null, "zero points moved");
            }
        }
        // QA-LoRA's delta covers every input of a group, pruned ones too: the fold reproduces it exactly, so pruned
        // weights take the delta (keeping them at 0 is what QA-SparsePEFT is for).
        double gap = logitGap(adapter, out);
        System.out.println("qa-lora fold: max |logit gap| " + gap);
        assertTrue(gap <= 1e-4, "folded vs unmerged qa-lora forward: max |Δlogit| = " + gap);
    }

    @Test
    void qaHiraFoldsIntoTheZeroPointsToo() throws Exception {
        Adapter adapter = train(AdapterType.QA_HIRA); // output group 8: A [out/8, in/128] per module
        Path out = mergeAndWrite(adapter, "qa-hira-folded");
        double gap = logitGap(adapter, out);
        System.out.println("qa-hira fold: max |logit gap| " + gap);
        assertTrue(gap <= 1e-4, "folded vs unmerged qa-hira forward: max |Δlogit| = " + gap);
    }

    @Test
    void loraMergesIntoADenseBase() throws Exception {
        Path source = TestModels.tinyStories656k();
        Adapter adapter = train(AdapterType.LORA, source);
        Path out = dir.resolve("lora-merged");
        CompressedCheckpoint.write(AdapterMerge.mergeDense(Checkpoints.open(source).dense(), adapter, null), out,
                List.of(source.resolve("tokenizer.json"), source.resolve("tokenizer_config.json")));
        double gap = logitGap(adapter, source, out);
        System.out.println("lora dense merge: max |logit gap| " + gap);
        assertTrue(gap <= 1e-4, "merged vs unmerged lora forward: max |Δlogit| = " + gap);
        try (LoadedModel served = LoadedModel.load(out, Optional.empty(), "cpu")) {
            assertEquals(dense.config(), served.config());
        }
    }
}
