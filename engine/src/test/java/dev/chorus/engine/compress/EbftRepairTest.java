package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.ReferenceLlama;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EbftRepairTest {
    static final int SEQ = 32;

    static List<int[]> randomSequences(int count, int vocab, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[SEQ];
            s[0] = 1;
            for (int t = 1; t < SEQ; t++) {
                s[t] = 3 + rnd.nextInt(vocab - 3);
            }
            out.add(s);
        }
        return out;
    }

    @Test
    void trainingForwardIsTheSameFunctionAsTheReference() {
        for (DenseParameters p : List.of(HfCheckpoint.read(TestModels.tinyStories656k()), Llama2cCheckpoint.read(TestModels.stories260k()))) {
            ReferenceLlama reference = new ReferenceLlama(p);
            int[] tokens = randomSequences(1, p.config().vocabSize(), 3).get(0);
            float[][] x = reference.embed(tokens);
            float[][] expected = reference.block(0, p.layers().get(0), x, null);
            try (NDManager m = NDManager.newBaseManager()) {
                ModelConfig c = p.config();
                Map<Projection, NDArray> w = new EnumMap<>(Projection.class);
                for (Projection proj : Projection.values()) {
                    w.put(proj, m.create(proj.of(p.layers().get(0)), new Shape(proj.outFeatures(c), proj.inFeatures(c))));
                }
                float[] flat = new float[SEQ * c.hiddenSize()];
                for (int t = 0; t < SEQ; t++) {
                    System.arraycopy(x[t], 0, flat, t * c.hiddenSize(), c.hiddenSize());
                }
                float[] actual = new BlockTrainer(c, SEQ, m).forward(m.create(flat, new Shape(1, SEQ, c.hiddenSize())),
                        m.create(p.layers().get(0).attentionNorm()), m.create(p.layers().get(0).ffnNorm()), w).toFloatArray();
                double max = 0;
                for (int t = 0; t < SEQ; t++) {
                    for (int i = 0; i < c.hiddenSize(); i++) {
                        max = Math.max(max, Math.abs(expected[t][i] - actual[t * c.hiddenSize() + i]));
                    }
                }
                assertTrue(max < 1e-4, c.ropeStyle() + ": training forward differs from the reference by " + max);
            }
        }
    }

    @Test
    void repairLowersTheBlockErrorAndKeepsPrunedWeightsAtZero() {
        DenseParameters p = HfCheckpoint.read(TestModels.tinyStories656k());
        ModelConfig c = p.config();
        DenseParameters.Layer dense = p.layers().get(0);
        Map<Projection, SparsityMask> masks = new EnumMap<>(Projection.class);
        DenseParameters.Layer sparse = dense;
        for (Projection proj : Projection.values()) {
            SparsityMask mask = Pruner.magnitude(proj.of(dense), proj.outFeatures(c), proj.inFeatures(c), new SparsityPattern.Unstructured(0.5));
            float[] w = proj.of(dense).clone();
            mask.apply(w);
            masks.put(proj, mask);
            sparse = proj.with(sparse, w);
        }
        ReferenceLlama reference = new ReferenceLlama(p);
        List<float[]> inputs = new ArrayList<>();
        for (int[] s : randomSequences(16, c.vocabSize(), 11)) {
            float[][] x = reference.embed(s);
            float[] flat = new float[SEQ * c.hiddenSize()];
            for (int t = 0; t < SEQ; t++) {
                System.arraycopy(x[t], 0, flat, t * c.hiddenSize(), c.hiddenSize());
            }
            inputs.add(flat);
        }
        EbftRepair.Settings settings = new EbftRepair.Settings(12, 4, 5e-4f, 7);
        EbftRepair.Result first;
        EbftRepair.Result second;
        try (NDManager m = NDManager.newBaseManager()) {
            first = EbftRepair.repair(c, dense, sparse, masks, inputs, SEQ, settings, m);
            second = EbftRepair.repair(c, dense, sparse, masks, inputs, SEQ, settings, m);
        }
        assertTrue(first.mseAfter() < 0.8 * first.mseBefore(), "MSE " + first.mseBefore() + " -> " + first.mseAfter());
        assertEquals(first.mseAfter(), second.mseAfter(), 0.0, "seeded: reproducible");
        for (Projection proj : Projection.values()) {
            float[] repaired = proj.of(first.repaired());
            float[] before = proj.of(sparse);
            SparsityMask mask = masks.get(proj);
            int changed = 0;
            for (int r = 0; r < mask.rows(); r++) {
                for (int col = 0; col < mask.cols(); col++) {
                    int i = r * mask.cols() + col;
                    if (!mask.kept(r, col)) {
                        assertEquals(0f, repaired[i], proj + " pruned entry must stay exactly 0");
                    } else if (repaired[i] != before[i]) {
                        changed++;
                    }
                }
            }
            assertTrue(changed > mask.keptCount() / 2, proj + ": kept weights were trained (" + changed + " changed)");
            assertArrayEquals(proj.of(first.repaired()), proj.of(second.repaired()), proj + " reproducible");
        }
    }
}
