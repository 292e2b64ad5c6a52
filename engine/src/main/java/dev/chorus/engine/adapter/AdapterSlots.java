package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compress.Projection;
import dev.chorus.engine.model.ModelConfig;
import dev.chorus.engine.model.RowAdapters;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Device-resident adapter weights for every target module in preallocated slot tensors (the
 * Punica/S-LoRA layout). Slot 0 is the zero adapter; smaller ranks are zero-padded to maxRank; a
 * qa-lora A [r, in/g] is stored expanded to [r, in] with A'[:, j] = A[:, j/g]/g, so A'x = A·pool_g(x)
 * and lora and qa-lora share one layout. Only the engine thread touches it.
 *
 * <p>Per module the batched op is, for row i with slot idx[i]:
 * {@code y[i] = base[i] ⊙ (1 + d[idx[i]]) + (x[i]·A[idx[i]]ᵀ)·(s·B)[idx[i]]ᵀ}, where d = α − 1 for
 * scale adapters and 0 otherwise; the scaling s is folded into B when the adapter is loaded.
 */
public final class AdapterSlots implements AdapterCache.SlotWriter, AutoCloseable {
    public record Settings(int maxAdapters, int maxRank, Set<Projection> targets) {
        public Settings {
            if (maxAdapters < 1 || maxRank < 1 || targets.isEmpty()) {
                throw new IllegalArgumentException("need at least one adapter slot, rank >= 1 and one target module");
            }
            targets = Set.copyOf(targets);
        }
    }

    private final ModelConfig config;
    private final Settings settings;
    private final NDManager manager;
    // Stored transposed (Aᵀ, (s·B)ᵀ) so the batched op is two plain matmuls: x·Aᵀ·(sB)ᵀ.
    private final Map<Adapter.Module, NDArray> down = new HashMap<>(); // [slots, in, maxRank]
    private final Map<Adapter.Module, NDArray> up = new HashMap<>(); // [slots, maxRank, out], scaled by s
    private final Map<Adapter.Module, NDArray> scaleDelta = new HashMap<>(); // [slots, out]
    private final boolean[] lowRank; // slot holds a lora/qa-lora adapter
    private final boolean[] scaled; // slot holds a scale adapter

    public AdapterSlots(ModelConfig config, Settings settings, NDManager parent) {
        this.config = config;
        this.settings = settings;
        this.manager = parent.newSubManager();
        int slots = settings.maxAdapters() + 1;
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (Projection p : settings.targets()) {
                Adapter.Module m = new Adapter.Module(layer, p);
                down.put(m, manager.zeros(new Shape(slots, p.inFeatures(config), settings.maxRank()), DataType.FLOAT32));
                up.put(m, manager.zeros(new Shape(slots, settings.maxRank(), p.outFeatures(config)), DataType.FLOAT32));
                scaleDelta.put(m, manager.zeros(new Shape(slots, p.outFeatures(config)), DataType.FLOAT32));
            }
        }
        lowRank = new boolean[slots];
        scaled = new boolean[slots];
    }

    public int slots() {
        return settings.maxAdapters() + 1;
    }

    public Settings settings() {
        return settings;
    }

    /** Writes {@code a} into {@code slot} (1..maxAdapters), replacing whatever was there. */
    @Override
    public void load(int slot, Adapter a) {
        if (slot < 1 || slot > settings.maxAdapters()) {
            throw new IllegalArgumentException("slot " + slot + " outside 1.." + settings.maxAdapters());
        }
        if (a.rank() > settings.maxRank()) {
            throw new AdapterFormatException("adapter rank " + a.rank() + " exceeds the slot rank " + settings.maxRank());
        }
        if (!settings.targets().containsAll(a.targets())) {
            throw new AdapterFormatException("adapter targets " + a.targets() + " but slots hold only " + settings.targets());
        }
        clear(slot);
        int r = settings.maxRank();
        for (var e : a.modules().entrySet()) {
            Adapter.Module m = e.getKey();
            Adapter.Weights w = e.getValue();
            int in = m.projection().inFeatures(config);
            int out = m.projection().outFeatures(config);
            if (a.type() == AdapterType.SCALE) {
                float[] d = new float[out];
                for (int o = 0; o < out; o++) {
                    d[o] = w.scales()[o] - 1f;
                }
                scaleDelta.get(m).set(new NDIndex(slot + ", :"), manager.create(d));
                continue;
            }
            float[] downT = new float[in * r]; // Aᵀ [in, maxRank]
            float[] upT = new float[r * out]; // (s·B)ᵀ [maxRank, out]
            int rank = a.rank();
            int g = a.type() == AdapterType.QA_LORA ? a.groupSize() : 1;
            int cols = in / g;
            for (int k = 0; k < rank; k++) {
                for (int j = 0; j < in; j++) {
                    downT[j * r + k] = w.a()[k * cols + j / g] / g;
                }
            }
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < rank; k++) {
                    upT[k * out + o] = a.scaling() * w.b()[o * rank + k];
                }
            }
            down.get(m).set(new NDIndex(slot + ", :, :"), manager.create(downT, new Shape(in, r)));
            up.get(m).set(new NDIndex(slot + ", :, :"), manager.create(upT, new Shape(r, out)));
        }
        lowRank[slot] = a.type() != AdapterType.SCALE;
        scaled[slot] = a.type() == AdapterType.SCALE;
    }

    /** Resets a slot to the zero adapter. */
    @Override
    public void clear(int slot) {
        for (Adapter.Module m : down.keySet()) {
            down.get(m).set(new NDIndex(slot + ", :, :"), 0f);
            up.get(m).set(new NDIndex(slot + ", :, :"), 0f);
            scaleDelta.get(m).set(new NDIndex(slot + ", :"), 0f);
        }
        lowRank[slot] = false;
        scaled[slot] = false;
    }

    /**
     * Adds each row's adapter to the base output of one module. x [B, L, in], base [B, L, out];
     * {@code rows} selects each row's slot; rows on slot 0 get exactly base.
     */
    NDArray apply(int layer, Projection p, NDArray x, NDArray base, BatchRows rows) {
        Adapter.Module m = new Adapter.Module(layer, p);
        if (!down.containsKey(m) || !(rows.anyLowRank || rows.anyScaled)) {
            return base;
        }
        NDManager step = x.getManager();
        NDIndex index = rows.index(step);
        NDArray y = base;
        if (rows.anyScaled) {
            NDArray d = scaleDelta.get(m).get(step, index); // [B, out]
            y = y.add(base.mul(d.reshape(rows.count(), 1, -1)));
        }
        if (rows.anyLowRank) {
            NDArray aT = down.get(m).get(step, index); // [B, in, r]
            NDArray bT = up.get(m).get(step, index); // [B, r, out]
            y = y.add(x.matMul(aT).matMul(bT)); // [B, L, out]
        }
        return y;
    }

    /** One batch's row → slot assignment, with what the whole batch needs computed once per step. */
    final class BatchRows {
        private final int[] slotOfRow;
        final boolean anyLowRank;
        final boolean anyScaled;
        private NDIndex index;
        private NDManager indexManager; // a gather index lives in one step's manager

        BatchRows(int[] slotOfRow) {
            this.slotOfRow = slotOfRow.clone();
            boolean lr = false;
            boolean sc = false;
            for (int s : slotOfRow) {
                lr |= lowRank[s];
                sc |= scaled[s];
            }
            anyLowRank = lr;
            anyScaled = sc;
        }

        long count() {
            return slotOfRow.length;
        }

        /** Consecutive slots read a slice view; anything else a gather (PyTorch's index kernel is much slower). */
        NDIndex index(NDManager step) {
            if (index == null || indexManager != step) {
                indexManager = step;
                boolean consecutive = true;
                for (int i = 1; i < slotOfRow.length; i++) {
                    consecutive &= slotOfRow[i] == slotOfRow[0] + i;
                }
                index = consecutive ? new NDIndex(slotOfRow[0] + ":" + (slotOfRow[0] + slotOfRow.length))
                        : new NDIndex("{}", step.create(java.util.Arrays.stream(slotOfRow).asLongStream().toArray()));
            }
            return index;
        }
    }

    /** The forward's view of these slots for one batch: row i uses slot rowSlots[i]. */
    public RowAdapters forRows(int[] rowSlots) {
        BatchRows rows = new BatchRows(rowSlots);
        return (layer, projection, x, base) -> apply(layer, projection, x, base, rows);
    }

    @Override
    public void close() {
        manager.close();
    }
}
