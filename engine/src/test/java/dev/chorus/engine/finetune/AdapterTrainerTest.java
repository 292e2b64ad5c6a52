package dev.chorus.engine.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.checkpoint.Checkpoints;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.Lora;
import dev.chorus.engine.adapter.ModuleWeights;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LoRA fine-tuning of TinyStories-656K on one synthetic domain. */
class AdapterTrainerTest {
    static DenseParameters base;
    static LoadedModel model;
    static Tokenizer tokenizer;
    static final List<TrainingExample> TRAIN = SyntheticStories.generate("pirates", 200, 1);
    static final List<TrainingExample> HELD_OUT = SyntheticStories.generate("pirates", 50, 2);

    @BeforeAll
    static void load() {
        base = Checkpoints.open(TestModels.tinyStories656k()).dense();
        model = LoadedModel.load(TestModels.tinyStories656k(), Optional.empty(), "cpu");
        tokenizer = model.requireTokenizer();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Setup(TrainingRun run, Optimization optimization) {
    }

    static Setup lora(int steps, float lr, long seed) {
        return new Setup(new TrainingRun(new Lora(16, 32f, 32f / 16), EnumSet.allOf(Projection.class), steps, seed),
                new Optimization(lr, Optimization.Decay.COSINE, Math.min(10, steps / 10), 0.01f, 1f, 8, 1, 0, 0));
    }

    static AdapterTrainer.Result train(Setup setup, Adapter init, List<TrainingExample> eval) {
        try (NDManager m = Engine.getInstance().newBaseManager();
                AdapterTrainer t = new AdapterTrainer(base, tokenizer, base.config().eosId(), setup.run(), setup.optimization(), init, null, m,
                        DataType.FLOAT32)) {
            return t.train(TRAIN, eval, p -> { });
        }
    }

    @Test
    void heldOutPerplexityOfTheDomainDropsByFarMoreThanAThird() {
        AdapterTrainer.Result r = train(lora(120, 3e-3f, 1), null, HELD_OUT);
        double before = Math.exp(r.initialEvalLoss());
        double after = Math.exp(r.finalEvalLoss());
        assertTrue(after <= 0.7 * before, "held-out perplexity " + before + " -> " + after);
        assertTrue(r.lastTrainLoss() < r.firstTrainLoss() / 2, "train loss " + r.firstTrainLoss() + " -> " + r.lastTrainLoss());
        var c = base.config();
        long perLayer = 0;
        for (Projection p : Projection.values()) {
            perLayer += 16L * (p.inFeatures(c) + p.outFeatures(c));
        }
        assertEquals(perLayer * c.numLayers(), r.trainableParameters(), "r·(in + out) per target module");
        // The evaluation helper agrees with the trainer's own held-out numbers, with and without the adapter.
        try (NDManager m = Engine.getInstance().newBaseManager()) {
            assertEquals(r.initialEvalLoss(), AdapterTrainer.evaluate(base, null, tokenizer, base.config().eosId(), null, HELD_OUT, m), 1e-4);
            assertEquals(r.finalEvalLoss(), AdapterTrainer.evaluate(base, null, tokenizer, base.config().eosId(), r.adapter(), HELD_OUT, m), 1e-4);
        }
    }

    @Test
    void theSameSeedGivesTheSameAdapter() {
        Adapter a = train(lora(4, 3e-3f, 5), null, List.of()).adapter();
        Adapter b = train(lora(4, 3e-3f, 5), null, List.of()).adapter();
        Adapter.Module m = new Adapter.Module(1, Projection.V);
        assertArrayEquals(((ModuleWeights.LowRank) a.modules().get(m)).a(), ((ModuleWeights.LowRank) b.modules().get(m)).a());
        assertArrayEquals(((ModuleWeights.LowRank) a.modules().get(m)).b(), ((ModuleWeights.LowRank) b.modules().get(m)).b());
    }

    @Test
    void incrementalTrainingStartsWhereTheEarlierVersionEnded() {
        AdapterTrainer.Result v1 = train(lora(80, 3e-3f, 1), null, List.of());
        AdapterTrainer.Result v2 = train(lora(5, 1e-4f, 2), v1.adapter(), List.of());
        assertTrue(v2.firstTrainLoss() < 2 * v1.lastTrainLoss() + 0.05, "v2 starts near v1's final loss " + v1.lastTrainLoss()
                + ", got " + v2.firstTrainLoss());
        assertTrue(v2.firstTrainLoss() < v1.firstTrainLoss() / 4, "not from the base's loss " + v1.firstTrainLoss());
    }

    /**
     * A service trains on its own threads, and the engine may have been started on another one (a merge
     * ran first): PyTorch's grad mode is per thread and on by default, and the update must not care.
     */
    @Test
    void trainingOnAFreshThreadGivesTheSameAdapter() throws Exception {
        Adapter here = train(lora(4, 3e-3f, 5), null, List.of()).adapter();
        java.util.concurrent.atomic.AtomicReference<Object> there = new java.util.concurrent.atomic.AtomicReference<>();
        Thread fresh = new Thread(() -> {
            try {
                there.set(train(lora(4, 3e-3f, 5), null, List.of()).adapter());
            } catch (RuntimeException e) {
                there.set(e);
            }
        }, "fresh-training-thread");
        fresh.start();
        fresh.join(120_000);
        assertTrue(there.get() instanceof Adapter, "trained on a fresh thread: " + there.get());
        Adapter.Module m = new Adapter.Module(1, Projection.V);
        assertArrayEquals(((ModuleWeights.LowRank) here.modules().get(m)).b(), ((ModuleWeights.LowRank) ((Adapter) there.get()).modules().get(m)).b());
    }
}
