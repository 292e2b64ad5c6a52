package dev.chorus.engine.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.RandomAdapters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.synth.SyntheticCheckpoint;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DPO: the loss by hand, its gradients against central differences, and what it does to a real model's preferences. */
class DpoTest {
    static final double H = 1e-6;

    @Test
    void theLossIsMinusLogSigmoidOfTheScaledMarginGain() {
        // β·[(p⁺ − p⁻) − (r⁺ − r⁻)] = 0.5·[(−3 + 5) − 1] = 0.5; −log σ(0.5) = log(1 + e^−0.5)
        assertEquals(0.47407698418010663, DpoLoss.value(-3, -5, 1, 0.5), 1e-12);
        assertEquals(Math.log(2), DpoLoss.value(-4, -4, 0, 0.1), 1e-12, "policy = reference: log 2");
        assertEquals(1000.0, DpoLoss.value(0, 1000, 0, 1), 1e-9, "no overflow far out");
        try (NDManager m = Engine.getInstance().newBaseManager()) {
            NDArray loss = DpoLoss.sum(m.create(new double[] {-3, -4}), m.create(new double[] {-5, -4}), m.create(new double[] {1, 0}), 0.5);
            assertEquals(DpoLoss.value(-3, -5, 1, 0.5) + DpoLoss.value(-4, -4, 0, 0.5), loss.getDouble(), 1e-12);
        }
    }

    @Test
    void gradientsMatchCentralDifferences() {
        DenseParameters base = SyntheticCheckpoint.generate(GradientCheckTest.TINY, 5);
        Adapter start = RandomAdapters.generate(GradientCheckTest.TINY, AdapterType.LORA, 3, EnumSet.allOf(Projection.class), 0.3, 9, null);
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            CausalLm model = new CausalLm(base, GradientCheckTest.TINY.maxPositions(), manager, DataType.FLOAT64);
            TrainableAdapter adapter = new TrainableAdapter(GradientCheckTest.TINY, AdapterKind.of(AdapterType.LORA, 3, 6f, () -> 4),
                    EnumSet.allOf(Projection.class), start, () -> null, manager, DataType.FLOAT64, 1);
            SplittableRandom rnd = new SplittableRandom(3);
            int rows = 4; // two pairs: chosen rows 0-1, rejected rows 2-3
            long[] tokens = new long[rows * 10];
            long[] targets = new long[rows * 10];
            double[] mask = new double[rows * 10];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = rnd.nextInt(GradientCheckTest.TINY.vocabSize());
                targets[i] = rnd.nextInt(GradientCheckTest.TINY.vocabSize());
                mask[i] = i % 10 >= 3 ? 1 : 0;
            }
            NDArray in = manager.create(tokens, new Shape(rows, 10));
            NDArray out = manager.create(targets, new Shape(rows, 10));
            NDArray m = manager.create(mask, new Shape(rows, 10));
            NDArray reference = manager.create(new double[] {0.7, -1.3});
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                collector.backward(dpo(model, adapter, in, out, m, reference, manager));
            }
            double worst = 0;
            int checked = 0;
            for (NDArray p : adapter.parameters()) {
                double[] grad = p.getGradient().toDoubleArray();
                for (int sample = 0; sample < 3; sample++) {
                    int i = rnd.nextInt((int) p.getShape().size());
                    NDIndex at = GradientCheckTest.index(p.getShape(), i);
                    double value = p.get(at).getDouble();
                    p.set(at, value + H);
                    double plus = dpo(model, adapter, in, out, m, reference, manager).getDouble();
                    p.set(at, value - H);
                    double minus = dpo(model, adapter, in, out, m, reference, manager).getDouble();
                    p.set(at, value);
                    double numeric = (plus - minus) / (2 * H);
                    worst = Math.max(worst, Math.abs(numeric - grad[i]) / Math.max(1e-6, Math.max(Math.abs(numeric), Math.abs(grad[i]))));
                    checked++;
                }
            }
            assertTrue(worst <= 1e-3, "worst relative error " + worst + " over " + checked + " entries");
            assertTrue(checked >= 3 * 28, "entries of every module checked: " + checked);
        }
    }

    private static NDArray dpo(CausalLm model, TrainableAdapter adapter, NDArray in, NDArray out, NDArray mask, NDArray reference,
            NDManager manager) {
        NDArray logp = CausalLm.sequenceLogProbs(model.logits(in, adapter, manager), out, mask);
        return DpoLoss.sum(logp.get("0:2"), logp.get("2:"), reference, 0.5);
    }

    static List<PreferenceExample> pairs(List<String> animals) {
        return animals.stream().map(a -> new PreferenceExample("Tell me about the " + a + ".",
                " Arr, the " + a + " sailed the sea with Captain Tom.", " The " + a + " slept in the barn all day.")).toList();
    }

    /** On one synthetic domain, DPO raises the preferred answers' margin on unseen prompts without making them less likely. */
    @Test
    void preferencesOfADomainMoveTheMarginOnHeldOutPairs() {
        List<PreferenceExample> train = pairs(List.of("cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck", "cow", "pig", "fox",
                "owl", "bee", "ant", "hen", "goat", "wolf", "deer", "seal", "crab", "mouse", "horse", "sheep", "tiger"));
        List<PreferenceExample> heldOut = pairs(List.of("kitten", "puppy", "donkey", "parrot", "beaver", "penguin", "badger", "hamster"));
        try (TrainingBase base = TrainingBase.open(TestModels.tinyStories656k()); NDManager manager = Engine.getInstance().newBaseManager()) {
            List<TrainingExample> preferred = heldOut.stream().map(PreferenceExample::preferred).toList();
            double marginBefore = base.preferenceMargin(null, heldOut, manager);
            double lossBefore = base.loss(null, preferred, manager);
            TrainingRun run = new TrainingRun(AdapterKind.of(AdapterType.LORA, 8, 16f, () -> 0), EnumSet.allOf(Projection.class), 40, 1);
            Optimization o = new Optimization(2e-3f, Optimization.Decay.COSINE, 4, 0.01f, 1f, 4, 1, 0, 0);
            AdapterTrainer.Result r;
            try (AdapterTrainer trainer = base.trainer(run, o, null, manager)) {
                r = trainer.trainPreferences(train, heldOut, 0.1, p -> { });
            }
            double marginAfter = base.preferenceMargin(r.adapter(), heldOut, manager);
            double lossAfter = base.loss(r.adapter(), preferred, manager);
            System.out.printf(Locale.ROOT, "dpo: held-out margin %.2f -> %.2f nats, dpo loss %.4f -> %.4f, preferred perplexity %.2f -> %.2f%n",
                    marginBefore, marginAfter, r.initialEvalLoss(), r.finalEvalLoss(), Math.exp(lossBefore), Math.exp(lossAfter));
            assertEquals(Math.log(2), r.initialEvalLoss(), 1e-4, "a fresh LoRA (B = 0) is its own reference: every pair at log 2");
            assertTrue(marginAfter - marginBefore >= 10, "the preferred answers gain at least 10 nats over the others on unseen prompts");
            assertTrue(r.finalEvalLoss() < 0.25, "held-out DPO loss well below log 2");
            assertTrue(lossAfter <= lossBefore * 1.1, "the preferred answers do not become less likely (per-token loss within 10 %)");
        }
    }
}
