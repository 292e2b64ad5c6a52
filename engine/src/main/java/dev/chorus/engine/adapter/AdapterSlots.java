package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.BlockInput;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.RowAdapters;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Device-resident adapter weights for every target module in preallocated slot tensors (the
 * Punica/S-LoRA layout). Slot 0 is the zero adapter; smaller ranks are zero-padded to maxRank; a
 * qa-lora A [r, in/g] is stored expanded to [r, in] with A'[:, j] = A[:, j/g]/g, so A'x = A·pool_g(x)
 * and lora, qa-lora and qa-hira share one layout; each kind lays itself out ({@link SlotContents}).
 * Only the engine thread touches it.
 *
 * <p>Per module the batched op is, for row i with slot idx[i]:
 * {@code y[i] = base[i] ⊙ α[idx[i]] + (x[i]·A[idx[i]]ᵀ)·(s·B)[idx[i]]ᵀ}, where α holds a scale
 * adapter's scales and 1 for every other slot; the scaling s is folded into B when the adapter is
 * loaded. The modules reading one block input (q, k, v; gate, up) keep their Aᵀ side by side in one
 * tensor, so one batched matmul computes x·Aᵀ for all of them (on small models each op's dispatch
 * costs more than its flops).
 *
 * <p>{@link Settings#storage()} chooses where the low-rank side lives. TENSORS: device slot tensors,
 * applied as above with gathers (or views of consecutive slots) and batched matmuls. HOST_FP32 /
 * HOST_BF16: host arrays applied by {@link HostLowRankGroup}'s per-row kernel, which reads each row's
 * own slot only (no weight gather: for distinct adapters a gather copies as many bytes as the matmul
 * then reads), adds all members' products into the stacked linear output in place, and skips rows on
 * slot 0; bf16 halves the bytes a distinct-adapter batch is bound by. With 32 distinct rank-16
 * adapters on every projection (batch 32, one core, bench multi-lora paired_batched_over_base, medians)
 * the adapted step ran at 0.79× / 0.85× / 0.91× the base step on stories15M with TENSORS / HOST_FP32 /
 * HOST_BF16, and 0.70× / 0.81× / 0.87× on TinyStories-656K. Scale adapters keep their per-channel
 * device tensors in every storage.
 */
public final class AdapterSlots implements AdapterCache.SlotWriter, AutoCloseable {
    /** Where low-rank slots live and in which precision. */
    public enum Storage {
        /** Device tensors, fp32, applied by gathers/views and batched matmuls of the backend. */
        TENSORS,
        /** Host arrays, fp32, applied by the engine's own per-row kernel ({@link HostLowRankGroup}). */
        HOST_FP32,
        /** Host arrays, bf16 (half the bytes), fp32 arithmetic, by the same kernel. */
        HOST_BF16
    }

    public record Settings(int maxAdapters, int maxRank, Set<Projection> targets, Storage storage) {
        public Settings {
            if (maxAdapters < 1 || maxRank < 1 || targets.isEmpty()) {
                throw new IllegalArgumentException("need at least one adapter slot, rank >= 1 and one target module");
            }
            targets = Set.copyOf(targets);
            if (storage == null) {
                throw new IllegalArgumentException("storage must be given");
            }
        }

        /** fp32 slots with the default storage. */
        public Settings(int maxAdapters, int maxRank, Set<Projection> targets) {
            this(maxAdapters, maxRank, targets, DEFAULT_STORAGE);
        }
    }

    /** The storage of {@link Settings} when none is given (chosen by bench multi-lora's numbers, see the class notes). */
    public static final Storage DEFAULT_STORAGE = Storage.HOST_FP32;

    /** The slot tensors of the targeted projections reading one block input of one layer. */
    private static final class Group {
        final List<Projection> members; // targeted projections of the input, in forward order
        final int[] position; // members[i] is the position[i]-th of the input's projections
        // Stored transposed (Aᵀ, (s·B)ᵀ) so the batched op is two plain matmuls: x·Aᵀ·(sB)ᵀ.
        // Storage.TENSORS only (null otherwise):
        final NDArray down; // [slots, in, members·maxRank]: member i's Aᵀ in columns i·maxRank ..
        final NDArray[] up; // per member [slots, maxRank, out], scaled by s
        final HostLowRankGroup host; // host storage only (null for TENSORS)
        final NDArray[] scale; // per member [slots, 1, out]: α, 1 unless the slot holds a scale adapter

        Group(BlockInput input, List<Projection> members, ModelConfig c, int slots, int rank, Storage storage, NDManager manager) {
            this.members = members;
            position = members.stream().mapToInt(p -> input.projections().indexOf(p)).toArray();
            up = new NDArray[members.size()];
            scale = new NDArray[members.size()];
            for (int i = 0; i < members.size(); i++) {
                scale[i] = manager.ones(new Shape(slots, 1, members.get(i).outFeatures(c)), DataType.FLOAT32);
            }
            if (storage == Storage.TENSORS) {
                down = manager.zeros(new Shape(slots, members.get(0).inFeatures(c), members.size() * rank), DataType.FLOAT32);
                for (int i = 0; i < members.size(); i++) {
                    up[i] = manager.zeros(new Shape(slots, rank, members.get(i).outFeatures(c)), DataType.FLOAT32);
                }
                host = null;
            } else {
                down = null;
                List<Projection> all = input.projections();
                int[] columnOf = new int[all.size()];
                int width = 0;
                for (int i = 0; i < all.size(); i++) {
                    columnOf[i] = width;
                    width += all.get(i).outFeatures(c);
                }
                int[] outs = members.stream().mapToInt(p -> p.outFeatures(c)).toArray();
                int[] memberColumns = members.stream().mapToInt(p -> columnOf[all.indexOf(p)]).toArray();
                host = new HostLowRankGroup(slots, rank, members.get(0).inFeatures(c), outs, memberColumns, width,
                        storage == Storage.HOST_BF16);
            }
        }
    }

    private final ModelConfig config;
    private final Settings settings;
    private final NDManager manager;
    private final Group[][] groups; // [layer][block input]; null where the input has no targeted projection
    private final boolean[] lowRank; // slot holds a low-rank pair (lora, qa-lora, qa-hira)
    private final boolean[] scaled; // slot holds a scale adapter
    // Views of the slot tensors for the last consecutive slot range, kept across steps (a view sees
    // later writes to its slots) and rebuilt when the range changes.
    private final Map<NDArray, NDArray> views = new IdentityHashMap<>();
    // Host storage: the input and output rows of the block input being adapted, reused (engine thread only).
    private float[] scratchIn;
    private float[] scratchOut;
    private NDManager viewManager;
    private int viewFrom = -1;
    private int viewTo = -1;

    public AdapterSlots(ModelConfig config, Settings settings, NDManager parent) {
        this.config = config;
        this.manager = parent.newSubManager();
        // The host kernel adds into the linear's output through a view of its memory; a GPU tensor's
        // buffer is a copy, so on a GPU the slots stay device tensors whatever was asked.
        this.settings = manager.getDevice().isGpu() && settings.storage() != Storage.TENSORS
                ? new Settings(settings.maxAdapters(), settings.maxRank(), settings.targets(), Storage.TENSORS)
                : settings;
        int slots = settings.maxAdapters() + 1;
        groups = new Group[config.numLayers()][BlockInput.values().length];
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (BlockInput input : BlockInput.values()) {
                List<Projection> members = input.projections().stream().filter(settings.targets()::contains).toList();
                if (!members.isEmpty()) {
                    groups[layer][input.ordinal()] = new Group(input, members, config, slots, settings.maxRank(), this.settings.storage(), manager);
                }
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

    /**
     * Writes {@code a} into {@code slot} (1..maxAdapters), replacing whatever was there. The kind lays
     * itself out first, so a refusal (merged-only kind, rank above the slot rank) leaves the slot as it was.
     */
    @Override
    public void load(int slot, Adapter a) {
        if (slot < 1 || slot > settings.maxAdapters()) {
            throw new IllegalArgumentException("slot " + slot + " outside 1.." + settings.maxAdapters());
        }
        SlotContents contents = new SlotContents(config, settings.maxRank());
        a.kind().layInto(contents, a);
        if (!settings.targets().containsAll(a.targets())) {
            throw new AdapterFormatException("adapter targets " + a.targets() + " but slots hold only " + settings.targets());
        }
        clear(slot);
        int r = settings.maxRank();
        try (NDManager staging = manager.newSubManager()) {
            contents.lowRankModules().forEach((m, pair) -> {
                Projection p = m.projection();
                Group group = groups[m.layer()][BlockInput.of(p).ordinal()];
                int member = group.members.indexOf(p);
                int in = p.inFeatures(config);
                int out = p.outFeatures(config);
                if (group.host != null) {
                    group.host.load(slot, member, pair.rank(), pair.downT(), pair.upT());
                    return;
                }
                group.down.set(new NDIndex(slot + ", :, " + member * r + ":" + (member + 1) * r), staging.create(pair.downT(), new Shape(in, r)));
                group.up[member].set(new NDIndex(slot + ", :, :"), staging.create(pair.upT(), new Shape(r, out)));
            });
            contents.scaleModules().forEach((m, alpha) -> {
                Group group = groups[m.layer()][BlockInput.of(m.projection()).ordinal()];
                group.scale[group.members.indexOf(m.projection())].set(new NDIndex(slot + ", 0, :"), staging.create(alpha));
            });
        }
        lowRank[slot] = !contents.lowRankModules().isEmpty();
        scaled[slot] = !contents.scaleModules().isEmpty();
    }

    /** Resets a slot to the zero adapter. */
    @Override
    public void clear(int slot) {
        NDIndex at = new NDIndex(slot + ", :, :");
        for (Group[] layer : groups) {
            for (Group group : layer) {
                if (group != null) {
                    if (group.host != null) {
                        group.host.clear(slot);
                    } else {
                        group.down.set(at, 0f);
                    }
                    for (int i = 0; i < group.members.size(); i++) {
                        if (group.host == null) {
                            group.up[i].set(at, 0f);
                        }
                        group.scale[i].set(at, 1f);
                    }
                }
            }
        }
        lowRank[slot] = false;
        scaled[slot] = false;
    }

    /**
     * Adds each row's adapter to the base outputs of the projections reading one block input.
     * x [B, L, in], base[i] [B, L, out_i]; {@code rows} selects each row's slot; rows on slot 0 get
     * exactly base.
     */
    NDArray[] apply(int layer, BlockInput input, NDArray x, NDArray[] base, BatchRows rows) {
        Group group = groups[layer][input.ordinal()];
        if (group == null || !(rows.anyLowRank || rows.anyScaled)) {
            return base;
        }
        NDArray[] y = base.clone();
        NDList xa = rows.anyLowRank && group.host == null ? lowRankInputs(group, x, rows) : null;
        for (int i = 0; i < group.members.size(); i++) {
            int at = group.position[i];
            if (rows.anyScaled) {
                y[at] = y[at].mul(rows.select(group.scale[i], x)); // base ⊙ α, α [B, 1, out]
            }
            if (rows.anyLowRank && group.host == null) {
                y[at] = y[at].add(xa.get(i).batchMatMul(rows.select(group.up[i], x))); // + (x·Aᵀ)·(sB)ᵀ [B, L, out]
            }
        }
        return y;
    }

    /**
     * The adapters added to the stacked output y [B, L, Σ out] of all the input's projections: with
     * host storage one kernel call and one addition for all members; with tensors as {@link #apply}.
     */
    NDArray applyStacked(int layer, BlockInput input, NDArray x, NDArray y, long[] splits, BatchRows rows) {
        Group group = groups[layer][input.ordinal()];
        if (group == null || !(rows.anyLowRank || rows.anyScaled)) {
            return y;
        }
        if (group.host == null || rows.anyScaled) {
            NDArray[] base = splits == null ? new NDArray[] {y} : y.split(splits, 2).toArray(new NDArray[0]);
            NDArray[] adapted = apply(layer, input, x, base, rows);
            y = adapted.length == 1 ? adapted[0] : NDArrays.concat(new NDList(adapted), -1);
            if (group.host == null) {
                return y;
            }
        }
        if (!rows.anyLowRank) {
            return y;
        }
        Shape shape = x.getShape();
        int tokens = (int) (shape.get(0) * shape.get(1));
        // x: a view of the tensor's memory when contiguous, else a contiguous copy; y: the linear's fresh
        // (contiguous) output, so its buffer is a view and the sum is written into the tensor itself.
        int inSize = tokens * (int) shape.get(2);
        int outSize = tokens * group.host.outTotal();
        float[] xs = scratchIn = grown(scratchIn, inSize);
        x.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().get(xs, 0, inSize);
        FloatBuffer yb = y.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        float[] ys = scratchOut = grown(scratchOut, outSize);
        yb.get(0, ys, 0, outSize);
        group.host.addTo(xs, tokens, (int) shape.get(1), rows.slotOfRow, ys);
        yb.put(0, ys, 0, outSize);
        return y;
    }

    /** {@code a} when it holds at least n floats, else a new array (a step's host buffers are reused across calls and steps). */
    private static float[] grown(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[Math.max(n, a == null ? 0 : 2 * a.length)];
    }

    /** x·Aᵀ for every member at once [B, L, members·r], split into one [B, L, r] per member. */
    private static NDList lowRankInputs(Group group, NDArray x, BatchRows rows) {
        NDArray xa = x.batchMatMul(rows.select(group.down, x));
        return group.members.size() == 1 ? new NDList(xa) : xa.split(group.members.size(), 2);
    }

    /** The rows [from, to) of a slot tensor as a view, made once per slot range. */
    private NDArray view(NDArray slotTensor, int from, int to) {
        if (from != viewFrom || to != viewTo) {
            if (viewManager != null) {
                viewManager.close();
            }
            views.clear();
            viewManager = manager.newSubManager();
            viewFrom = from;
            viewTo = to;
        }
        return views.computeIfAbsent(slotTensor, t -> t.get(viewManager, new NDIndex(from + ":" + to)));
    }

    /** One batch's row → slot assignment, with what the whole batch needs computed once per step. */
    final class BatchRows {
        final int[] slotOfRow;
        private final boolean consecutive;
        final boolean anyLowRank;
        final boolean anyScaled;
        private NDIndex gather;
        private NDManager gatherManager; // a gather index lives in one step's manager

        BatchRows(int[] slotOfRow) {
            this.slotOfRow = slotOfRow.clone();
            boolean lr = false;
            boolean sc = false;
            boolean cons = true;
            for (int i = 0; i < slotOfRow.length; i++) {
                lr |= lowRank[slotOfRow[i]];
                sc |= scaled[slotOfRow[i]];
                cons &= slotOfRow[i] == slotOfRow[0] + i;
            }
            anyLowRank = lr;
            anyScaled = sc;
            consecutive = cons;
        }

        /**
         * Each row's slot of {@code slotTensor} [slots, ...] → [B, ...]: consecutive slots read a view
         * (kept across steps), anything else a gather into the step's manager (that of {@code x};
         * PyTorch's index kernel is much slower).
         */
        NDArray select(NDArray slotTensor, NDArray x) {
            if (consecutive) {
                return view(slotTensor, slotOfRow[0], slotOfRow[0] + slotOfRow.length);
            }
            NDManager step = x.getManager();
            if (gather == null || gatherManager != step) {
                gatherManager = step;
                gather = new NDIndex("{}", step.create(Arrays.stream(slotOfRow).asLongStream().toArray()));
            }
            return slotTensor.get(step, gather);
        }
    }

    /** The forward's view of these slots for one batch: row i uses slot rowSlots[i]. */
    public RowAdapters forRows(int[] rowSlots) {
        BatchRows rows = new BatchRows(rowSlots);
        return new RowAdapters() {
            @Override
            public NDArray apply(int layer, BlockInput input, NDArray x, NDArray y, long[] splits) {
                return applyStacked(layer, input, x, y, splits, rows);
            }

            @Override
            public boolean onHost() {
                return settings.storage() != Storage.TENSORS && !rows.anyScaled;
            }

            @Override
            public void addOnHost(int layer, BlockInput input, float[] x, int n, float[] y) {
                Group group = groups[layer][input.ordinal()];
                if (group != null && rows.anyLowRank) {
                    group.host.addTo(x, n, 1, rows.slotOfRow, y);
                }
            }
        };
    }

    @Override
    public void close() {
        manager.close();
    }
}
