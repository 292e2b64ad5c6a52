package dev.chorus.engine.merged;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LlamaWeights;
import dev.chorus.engine.model.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A merged variant computes what its adapter computes unmerged (folds within 1e-4 in logits, greedy
 * tokens identical; SQFT merges bit for bit what the CLI's merge + load gives), and shares every
 * tensor the merge leaves untouched with the base, by identity.
 */
class MergedVariantTest {
    static final AdapterKey KEY = new AdapterKey("acme", "hot", 1);
    static final int[][] PROMPTS = {{1}, {1, 80, 388, 489, 1169, 432, 77}}; // BOS; "Tom found a shiny key"
    static LoadedModel dense;
    static LoadedModel compressed;
    static FrozenLinears frozen;

    @BeforeAll
    static void load() throws Exception {
        dense = LoadedModel.load(MergedBases.dense(), Optional.empty(), "cpu");
        compressed = LoadedModel.load(MergedBases.compressed(), Optional.empty(), "cpu");
        frozen = FrozenLinears.read(MergedBases.compressed());
    }

    @AfterAll
    static void close() {
        dense.close();
        compressed.close();
    }

    @Test
    void aVariantSharesTheUntouchedTensorsWithTheBase() {
        Adapter a = MergedBases.random(compressed.config(), AdapterType.QA_LORA, 1);
        try (MergedVariant v = MergedVariant.build(KEY, compressed, a.kind().merge(a, frozen))) {
            LlamaWeights base = compressed.model().weights();
            LlamaWeights own = v.weights();
            assertSame(base.tokenEmbedding, own.tokenEmbedding, "token embedding shared");
            assertSame(base.classifier, own.classifier, "classifier shared");
            assertSame(base.finalNorm, own.finalNorm, "final norm shared");
            for (int i = 0; i < base.blocks.size(); i++) {
                assertSame(base.blocks.get(i).attentionNorm(), own.blocks.get(i).attentionNorm());
                assertSame(base.blocks.get(i).ffnNorm(), own.blocks.get(i).ffnNorm());
                assertNotSame(base.blocks.get(i).qkv(), own.blocks.get(i).qkv(), "block linears are the variant's own");
            }
            // Its own bytes are its block linears alone: the base's codes, scales, masks, plus the folded zero shifts.
            assertEquals(own.linearBytesResident(), v.bytes());
            assertTrue(v.bytes() <= 1.25 * base.linearBytesResident(), v.bytes() + " vs the base's linears " + base.linearBytesResident());
        }
        // Closing the variant left the base's shared arrays alone: the base still runs.
        MergedBases.greedy(compressed, compressed.model(), null, PROMPTS[1], 4, null);
    }

    @Test
    void foldedMergesMatchTheUnmergedAdapterOnTheCompressedBase() {
        for (AdapterType type : List.of(AdapterType.QA_LORA, AdapterType.QA_HIRA, AdapterType.SCALE)) {
            Adapter a = MergedBases.random(compressed.config(), type, 7);
            assertMatchesUnmerged(compressed, a, a.kind().merge(a, frozen), type + " on W50 INT4");
        }
    }

    @Test
    void loraAndScaleMergeIntoTheDenseBase() {
        var base = Checkpoints.open(MergedBases.dense()).dense();
        for (AdapterType type : List.of(AdapterType.LORA, AdapterType.SCALE)) {
            Adapter a = MergedBases.random(dense.config(), type, 9);
            assertMatchesUnmerged(dense, a, a.kind().mergeDense(a, base, "sha256:x"), type + " on the dense base");
        }
    }

    private static void assertMatchesUnmerged(LoadedModel base, Adapter adapter, CompressedParameters merged, String what) {
        try (AdapterSlots slots = new AdapterSlots(base.config(), new AdapterSlots.Settings(1, 64, EnumSet.allOf(Projection.class)), base.manager());
                MergedVariant v = MergedVariant.build(KEY, base, merged)) {
            slots.load(1, adapter);
            for (int[] prompt : PROMPTS) {
                float[][] unmergedLogits = new float[1][];
                float[][] mergedLogits = new float[1][];
                float[][] baseLogits = new float[1][];
                int[] unmerged = MergedBases.greedy(base, base.model(), slots.forRows(new int[] {1}), prompt, 24, unmergedLogits);
                int[] onVariant = MergedBases.greedy(base, v.model(), null, prompt, 24, mergedLogits);
                MergedBases.greedy(base, base.model(), null, prompt, 1, baseLogits);
                double gap = maxGap(unmergedLogits[0], mergedLogits[0]);
                System.out.printf("%s: max |logit merged - unmerged| %.2e, adapter moves logits by %.2e%n", what, gap,
                        maxGap(unmergedLogits[0], baseLogits[0]));
                assertTrue(maxGap(unmergedLogits[0], baseLogits[0]) > 1e-2, what + ": the adapter changes the output");
                assertTrue(gap <= 1e-4, what + ": merged vs unmerged logits differ by " + gap);
                assertArrayEquals(unmerged, onVariant, what + ": greedy tokens");
            }
        }
    }

    @Test
    void sqftVariantsRunExactlyWhatTheCliMergeWrites() throws Exception {
        for (AdapterType type : List.of(AdapterType.SPARSE_PEFT, AdapterType.QA_SPARSE_PEFT)) {
            Adapter a = MergedBases.random(compressed.config(), type, 5);
            CompressedParameters merged = a.kind().merge(a, frozen);
            Path dir = Files.createTempDirectory("chorus-merged-" + type.label());
            CompressedCheckpoint.write(merged, dir, List.of(MergedBases.compressed().resolve("tokenizer.json")));
            try (LoadedModel cli = LoadedModel.load(dir, Optional.empty(), "cpu");
                    MergedVariant v = MergedVariant.build(KEY, compressed, CompressedCheckpoint.read(dir))) {
                for (int[] prompt : PROMPTS) {
                    float[][] cliLogits = new float[1][];
                    float[][] variantLogits = new float[1][];
                    int[] expected = MergedBases.greedy(cli, cli.model(), null, prompt, 24, cliLogits);
                    int[] actual = MergedBases.greedy(compressed, v.model(), null, prompt, 24, variantLogits);
                    assertArrayEquals(expected, actual, type + ": greedy tokens");
                    assertArrayEquals(cliLogits[0], variantLogits[0], 0f, type + ": logits bit for bit");
                }
            }
        }
    }

    @Test
    void aMergedModelThatChangedSharedTensorsIsRefused() {
        CompressedParameters base = frozen.base();
        float[] norm = base.finalNorm().clone();
        norm[0] += 1f;
        CompressedParameters tampered = new CompressedParameters(base.config(), base.tokenEmbedding(), base.classifier(), norm, base.blocks(),
                base.manifest());
        var e = assertThrows(IllegalArgumentException.class, () -> MergedVariant.build(KEY, compressed, tampered));
        assertTrue(e.getMessage().contains("final norm"), e.getMessage());
    }

    static double maxGap(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
