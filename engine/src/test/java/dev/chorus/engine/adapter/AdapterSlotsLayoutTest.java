package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import dev.chorus.engine.model.RowAdapters;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The slot layout's shortcuts: modules sharing an input keep their A side by side (so a subset of
 * targets must land in the right columns), and consecutive rows read views kept across steps (so a
 * slot rewritten in place must be seen by them).
 */
class AdapterSlotsLayoutTest {
    private static final int[][] TOKENS = {{1, 80, 388}, {1, 147, 201}};

    /** Logits [rows · vocab] of one forward over TOKENS with a fresh cache, rows on cache slots 0, 1. */
    private static float[] forward(LlamaModel model, RowAdapters adapters, NDManager root) {
        try (KvCache cache = model.newCache(TOKENS.length, 8); NDManager step = root.newSubManager()) {
            return model.forward(step, cache, new int[] {0, 1}, new int[] {0, 0}, TOKENS, false, adapters).toFloatArray();
        }
    }

    private static AdapterSlots slots(ModelConfig c, Set<Projection> targets, NDManager root, Adapter... adapters) {
        AdapterSlots slots = new AdapterSlots(c, new AdapterSlots.Settings(adapters.length, 16, targets), root);
        for (int i = 0; i < adapters.length; i++) {
            slots.load(i + 1, adapters[i]);
        }
        return slots;
    }

    @Test
    void aSubsetOfTargetsMatchesTheSameAdapterInSlotsForEveryModule() {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        ModelConfig c = base.config();
        Set<Projection> targets = EnumSet.of(Projection.K, Projection.V, Projection.UP, Projection.DOWN);
        Adapter a = RandomAdapters.generate(c, AdapterType.LORA, 8, targets, 0.1, 21, null);
        Adapter b = RandomAdapters.generate(c, AdapterType.SCALE, 0, targets, 0.2, 22, null);
        try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(base, root));
                AdapterSlots subset = slots(c, targets, root, a, b);
                AdapterSlots all = slots(c, EnumSet.allOf(Projection.class), root, a, b)) {
            for (int[] rows : new int[][] {{1, 2}, {2, 1}}) {
                float[] expected = forward(model, all.forRows(rows), root);
                float[] actual = forward(model, subset.forRows(rows), root);
                double diff = BatchedAdapterForwardTest.maxDiff(expected, actual);
                assertTrue(diff <= 1e-5, "rows " + rows[0] + "," + rows[1] + ": subset vs all targets differ by " + diff);
            }
        }
    }

    @Test
    void rewritingASlotIsSeenByTheViewsOfConsecutiveRows() {
        DenseParameters base = HfCheckpoint.read(TestModels.tinyStories656k());
        ModelConfig c = base.config();
        Adapter first = BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 16, 31);
        Adapter second = BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 8, 32);
        Adapter replacement = BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.QA_LORA, 8, 33);
        try (NDManager root = NDManager.newBaseManager(); LlamaModel model = new LlamaModel(LlamaWeights.upload(base, root));
                AdapterSlots reused = slots(c, EnumSet.allOf(Projection.class), root, first, second);
                AdapterSlots fresh = slots(c, EnumSet.allOf(Projection.class), root, replacement, second)) {
            RowAdapters rows = reused.forRows(new int[] {1, 2});
            float[] before = forward(model, rows, root); // slots 1..2 now read through views
            reused.load(1, replacement);
            float[] after = forward(model, reused.forRows(new int[] {1, 2}), root);
            float[] expected = forward(model, fresh.forRows(new int[] {1, 2}), root);
            assertTrue(BatchedAdapterForwardTest.maxDiff(before, expected) > 1e-3, "the replacement should change the logits");
            double diff = BatchedAdapterForwardTest.maxDiff(after, expected);
            assertTrue(diff <= 1e-5, "after rewriting slot 1 the views still differ from fresh slots by " + diff);
        }
    }
}
