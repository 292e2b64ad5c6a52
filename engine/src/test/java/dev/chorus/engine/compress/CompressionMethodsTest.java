package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantSpec;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.model.LoadedModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The methods do what they promise, on TinyStories-656K with data-free calibration: Wanda beats
 * magnitude pruning, EBFT lowers KL, GPTQ beats round-to-nearest. Held-out samples use another seed.
 */
class CompressionMethodsTest {
    static LoadedModel dense;
    static DenseParameters parameters;
    static List<int[]> calibration;
    static List<int[]> heldOut;
    @TempDir
    static Path dir;

    @BeforeAll
    static void setUp() {
        dense = LoadedModel.load(TestModels.tinyStories656k(), Optional.empty(), "cpu");
        parameters = HfCheckpoint.read(TestModels.tinyStories656k());
        calibration = Calibration.selfGenerated(dense, 32, 96, 1234);
        heldOut = Calibration.selfGenerated(dense, 16, 96, 987);
    }

    @AfterAll
    static void tearDown() {
        dense.close();
    }

    static double kl(String name, SparsityPattern pattern, boolean wanda, boolean ebft, QuantSpec quant, boolean gptq) {
        CompressionSettings settings = new CompressionSettings(pattern, wanda ? PruningMethod.WANDA : PruningMethod.MAGNITUDE,
                ebft ? Optional.of(EbftRepair.Settings.DEFAULTS) : Optional.empty(),
                quant == null ? new Quantization.None() : new Quantization.GroupWise(quant, gptq));
        CompressedParameters p = new Compressor(parameters, settings, CompressionListener.NONE)
                .compress(calibration, "sha256:test", "self:32", dense.manager());
        Path out = dir.resolve(name);
        CompressedCheckpoint.write(p, out, List.of(TestModels.tinyStories656k().resolve("tokenizer.json")));
        try (LoadedModel compressed = LoadedModel.load(out, Optional.empty(), "cpu")) {
            ModelComparison.Report r = ModelComparison.compare(compressed, dense, heldOut);
            System.out.printf("%s: KL %.4f top-1 %.4f ppl %.2f (dense %.2f)%n", name, r.klMean(), r.top1Agreement(), r.pplModel(), r.pplReference());
            return r.klMean();
        }
    }

    @Test
    void denseAgainstItselfHasZeroKl() {
        ModelComparison.Report r = ModelComparison.compare(dense, dense, heldOut.subList(0, 2));
        assertEquals(0.0, r.klMean(), 1e-9);
        assertEquals(1.0, r.top1Agreement(), 0.0);
        assertEquals(r.pplReference(), r.pplModel(), 1e-9);
    }

    @Test
    void wandaBeatsMagnitudeAtHalfSparsity() {
        SparsityPattern half = new SparsityPattern.Unstructured(0.5);
        double wanda = kl("wanda", half, true, false, null, false);
        double magnitude = kl("magnitude", half, false, false, null, false);
        assertTrue(wanda < magnitude, "Wanda KL " + wanda + " should be below magnitude KL " + magnitude);
    }

    @Test
    void ebftLowersKlComparedWithNoRepair() {
        SparsityPattern half = new SparsityPattern.Unstructured(0.5);
        double plain = kl("wanda-plain", half, true, false, null, false);
        double repaired = kl("wanda-ebft", half, true, true, null, false);
        assertTrue(repaired < plain, "EBFT KL " + repaired + " should be below unrepaired KL " + plain);
    }

    @Test
    void gptqBeatsRoundToNearestAtInt4G128() {
        QuantSpec int4 = new QuantSpec(4, 128, false);
        SparsityPattern none = new SparsityPattern.Unstructured(0.0);
        double rtn = kl("rtn", none, true, false, int4, false);
        double gptq = kl("gptq", none, true, false, int4, true);
        assertTrue(gptq < rtn, "GPTQ KL " + gptq + " should be below RTN KL " + rtn);
    }

    @Test
    void twoOfFourKeepsExactlyTwoPerGroupThroughTheWholePipeline() {
        CompressionSettings settings = new CompressionSettings(new SparsityPattern.NOfM(2, 4), PruningMethod.WANDA, Optional.empty(),
                new Quantization.GroupWise(new QuantSpec(8, 64, true), false));
        CompressedParameters p = new Compressor(parameters, settings, CompressionListener.NONE)
                .compress(calibration.subList(0, 4), "sha256:test", "self:4", dense.manager());
        assertEquals(0.5, p.manifest().sparsity(), 1e-12);
        for (CompressedParameters.Block b : p.blocks()) {
            for (CompressedMatrix m : b.linears().values()) {
                float[] w = m.dequantize();
                for (int r = 0; r < m.rows(); r++) {
                    for (int g = 0; g < m.cols(); g += 4) {
                        int kept = 0;
                        for (int c = g; c < g + 4; c++) {
                            kept += m.mask().kept(r, c) ? 1 : 0;
                            if (!m.mask().kept(r, c)) {
                                assertEquals(0f, w[r * m.cols() + c]);
                            }
                        }
                        assertEquals(2, kept);
                    }
                }
            }
        }
    }
}
