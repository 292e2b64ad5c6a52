package dev.chorus.engine.finetune;

import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.compressed.SparsityMask;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterConfig;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.adapter.ModuleWeights;
import dev.chorus.engine.adapter.QaHira;
import dev.chorus.engine.adapter.QaLora;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.llama.RopeStyle;
import dev.chorus.engine.synth.SyntheticCheckpoint;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Analytic adapter gradients (DJL autograd) against central finite differences, in float64 on a tiny model. */
class GradientCheckTest {
    static final ModelConfig TINY = new ModelConfig(16, 32, 4, 2, 2, 40, 12, 1e-5f, 10000f, false, 1, 2, RopeStyle.HALF_SPLIT);
    static final double H = 1e-6;
    static final int GROUP = 4;

    @ParameterizedTest
    @EnumSource(value = AdapterType.class, names = {"LORA", "QA_LORA", "SCALE", "QA_HIRA", "SPARSE_PEFT"})
    void gradientsMatchCentralDifferences(AdapterType type) {
        DenseParameters base = SyntheticCheckpoint.generate(TINY, 5);
        // Random B (and A): at the usual init B = 0 and A's gradient would be trivially zero.
        Adapter start = switch (type) {
            case QA_LORA -> qaLora();
            case QA_HIRA -> qaHira();
            default -> RandomAdapters.generate(TINY, type, 3, EnumSet.allOf(Projection.class), 0.3, 9, null);
        };
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            CausalLm model = new CausalLm(base, TINY.maxPositions(), manager, DataType.FLOAT64);
            TrainableAdapter adapter = new TrainableAdapter(TINY, AdapterKind.of(type, start.rank(), 6f, () -> GROUP), EnumSet.allOf(Projection.class),
                    start, () -> halfPruned(base), manager, DataType.FLOAT64, 1);
            SplittableRandom rnd = new SplittableRandom(3);
            long[] tokens = new long[2 * 10];
            long[] targets = new long[2 * 10];
            double[] mask = new double[2 * 10];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = rnd.nextInt(TINY.vocabSize());
                targets[i] = rnd.nextInt(TINY.vocabSize());
                mask[i] = i % 10 >= 3 ? 1 : 0; // the first three positions are "prompt"
            }
            NDArray in = manager.create(tokens, new Shape(2, 10));
            NDArray out = manager.create(targets, new Shape(2, 10));
            NDArray m = manager.create(mask, new Shape(2, 10));

            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                collector.backward(loss(model, adapter, in, out, m, manager));
            }
            int checked = 0;
            double worst = 0;
            for (NDArray p : adapter.parameters()) {
                double[] grad = p.getGradient().toDoubleArray();
                for (int sample = 0; sample < 3; sample++) {
                    int i = rnd.nextInt((int) p.getShape().size());
                    NDIndex at = index(p.getShape(), i);
                    double value = p.get(at).getDouble();
                    p.set(at, value + H);
                    double plus = lossValue(model, adapter, in, out, m, manager);
                    p.set(at, value - H);
                    double minus = lossValue(model, adapter, in, out, m, manager);
                    p.set(at, value);
                    double numeric = (plus - minus) / (2 * H);
                    double error = Math.abs(numeric - grad[i]) / Math.max(1e-6, Math.max(Math.abs(numeric), Math.abs(grad[i])));
                    worst = Math.max(worst, error);
                    checked++;
                }
            }
            assertTrue(worst <= 1e-3, type + ": worst relative error " + worst + " over " + checked + " entries");
            assertTrue(checked >= 3 * (type == AdapterType.SCALE || type == AdapterType.QA_HIRA ? 14 : 28), "entries of every module checked");
        }
    }

    /** A random qa-lora adapter with groups of {@link #GROUP} inputs (RandomAdapters' group is too wide for this model). */
    private static Adapter qaLora() {
        SplittableRandom rnd = new SplittableRandom(11);
        var modules = new java.util.HashMap<Adapter.Module, ModuleWeights>();
        for (int layer = 0; layer < TINY.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                modules.put(new Adapter.Module(layer, p),
                        new ModuleWeights.LowRank(gaussian(rnd, 3 * p.inFeatures(TINY) / GROUP), gaussian(rnd, p.outFeatures(TINY) * 3)));
            }
        }
        return new Adapter(new AdapterConfig(new QaLora(3, 6f, 2f, GROUP), EnumSet.allOf(Projection.class), null), modules);
    }

    /** QA-HiRA with output group 2 (every projection's output count is even here). */
    private static Adapter qaHira() {
        SplittableRandom rnd = new SplittableRandom(12);
        var modules = new java.util.HashMap<Adapter.Module, ModuleWeights>();
        for (int layer = 0; layer < TINY.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                modules.put(new Adapter.Module(layer, p), new ModuleWeights.HiraFactor(gaussian(rnd, p.outFeatures(TINY) / 2 * (p.inFeatures(TINY) / GROUP)),
                        p.inFeatures(TINY) / GROUP));
            }
        }
        return new Adapter(new AdapterConfig(new QaHira(2, 6f, 3f, GROUP), EnumSet.allOf(Projection.class), null), modules);
    }

    /** The tiny base with every other weight treated as pruned, as SparsePEFT's mask. */
    private static FrozenLinears halfPruned(DenseParameters base) {
        var masks = new java.util.HashMap<Adapter.Module, SparsityMask>();
        for (int layer = 0; layer < TINY.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                int rows = p.outFeatures(TINY);
                int cols = p.inFeatures(TINY);
                boolean[] keep = new boolean[rows * cols];
                for (int i = 0; i < keep.length; i++) {
                    keep[i] = i % 2 == 0;
                }
                masks.put(new Adapter.Module(layer, p), SparsityMask.of(rows, cols, keep));
            }
        }
        return new FrozenLinears(null, masks, java.util.Map.of());
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (0.3 * rnd.nextGaussian());
        }
        return out;
    }

    static NDIndex index(Shape shape, int flat) {
        long[] at = new long[shape.dimension()];
        for (int d = shape.dimension() - 1; d >= 0; d--) {
            at[d] = flat % shape.get(d);
            flat /= shape.get(d);
        }
        return new NDIndex(at);
    }

    private static NDArray loss(CausalLm model, TrainableAdapter adapter, NDArray in, NDArray out, NDArray mask, NDManager m) {
        return CausalLm.nllSum(model.logits(in, adapter, m), out, mask).div(mask.sum());
    }

    private static double lossValue(CausalLm model, TrainableAdapter adapter, NDArray in, NDArray out, NDArray mask, NDManager m) {
        try (NDManager s = m.newSubManager()) {
            return loss(model, adapter, in, out, mask, s).getDouble();
        }
    }
}
