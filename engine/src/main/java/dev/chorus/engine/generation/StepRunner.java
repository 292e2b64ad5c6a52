package dev.chorus.engine.generation;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.merged.MergedVariant;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs forward passes for the loop: prompt chunks of several sequences, or one decode row per running
 * sequence. Rows on different models (the base with its adapters, each merged variant) run as one
 * forward per model over the one shared KV cache.
 */
final class StepRunner {
    private final LoadedModel model;
    private final KvCache cache;
    private final AdapterRuntime adapters;

    StepRunner(LoadedModel model, KvCache cache, AdapterRuntime adapters) {
        this.model = model;
        this.cache = cache;
        this.adapters = adapters;
    }

    private RowAdapters rows(MergedVariant variant, int[] adapterSlots) {
        return adapters == null || variant != null ? null : adapters.forRows(adapterSlots);
    }

    private LlamaModel modelOf(MergedVariant variant) {
        return variant == null ? model.model() : variant.model();
    }

    /** Indices of {@code batch} per model, base first, in batch order within each. */
    private static Map<MergedVariant, List<Integer>> byModel(List<Sequence> batch) {
        Map<MergedVariant, List<Integer>> groups = new LinkedHashMap<>();
        groups.put(null, new ArrayList<>());
        for (int i = 0; i < batch.size(); i++) {
            groups.computeIfAbsent(batch.get(i).variant, v -> new ArrayList<>()).add(i);
        }
        groups.values().removeIf(List::isEmpty);
        return groups;
    }

    /**
     * One pass over prompt chunks of several sequences together: row i feeds {@code chunks[i]} more
     * prompt tokens of {@code batch.get(i)}, from the position its cache has reached; returns each
     * row's logits after its chunk's last token.
     */
    float[][] prefill(List<Sequence> batch, int[] chunks) {
        float[][] out = new float[batch.size()][];
        for (var group : byModel(batch).entrySet()) {
            List<Integer> idx = group.getValue();
            int n = idx.size();
            int[] slots = new int[n];
            int[] starts = new int[n];
            int[][] tokens = new int[n][];
            int[] adapterSlots = new int[n];
            for (int r = 0; r < n; r++) {
                Sequence s = batch.get(idx.get(r));
                slots[r] = s.slot;
                starts[r] = s.position;
                tokens[r] = Arrays.copyOfRange(s.request.promptIds(), s.position, s.position + chunks[idx.get(r)]);
                adapterSlots[r] = s.adapterSlot;
            }
            float[][] logits = forward(group.getKey(), slots, starts, tokens, adapterSlots);
            for (int r = 0; r < n; r++) {
                out[idx.get(r)] = logits[r];
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).position += chunks[i];
        }
        return out;
    }

    /** One decode step for {@code batch}, one forward per model; returns its logits in batch order. */
    float[][] decode(List<Sequence> batch, List<Sequence> prefilling) {
        Map<MergedVariant, List<Integer>> groups = byModel(batch);
        float[][] out = new float[batch.size()][];
        for (var group : groups.entrySet()) {
            List<Sequence> rows = new ArrayList<>();
            List<Sequence> elsewhere = new ArrayList<>(prefilling);
            for (int i = 0; i < batch.size(); i++) {
                (batch.get(i).variant == group.getKey() ? rows : elsewhere).add(batch.get(i));
            }
            float[][] logits = decodeGroup(group.getKey(), rows, elsewhere);
            List<Integer> idx = group.getValue();
            for (int r = 0; r < idx.size(); r++) {
                out[idx.get(r)] = logits[r];
            }
        }
        for (Sequence s : batch) {
            s.position++;
        }
        return out;
    }

    /**
     * One decode step of the rows of one model. When their slots span few holes, none of them a slot
     * another sequence uses ({@code elsewhere}: being prefilled, or on another model), rows cover the
     * whole slot range (holes decode a throwaway token at position 0 of their free slot) so the model
     * reads the cache through a view instead of a gather.
     */
    private float[][] decodeGroup(MergedVariant variant, List<Sequence> batch, List<Sequence> elsewhere) {
        int lo = Integer.MAX_VALUE;
        int hi = -1;
        for (Sequence s : batch) {
            lo = Math.min(lo, s.slot);
            hi = Math.max(hi, s.slot);
        }
        boolean padded = hi - lo + 1 <= batch.size() + Math.max(1, batch.size() / 4);
        for (Sequence p : elsewhere) {
            padded &= p.slot < lo || p.slot > hi;
        }
        int n = padded ? hi - lo + 1 : batch.size();
        int[] slots = new int[n];
        int[] starts = new int[n];
        int[][] tokens = new int[n][];
        int[] adapterSlots = new int[n]; // holes use slot 0, the zero adapter
        int[] rowOf = new int[batch.size()];
        if (padded) {
            for (int r = 0; r < n; r++) {
                slots[r] = lo + r;
                tokens[r] = new int[] {model.config().bosId()};
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            int r = padded ? s.slot - lo : i;
            rowOf[i] = r;
            slots[r] = s.slot;
            starts[r] = s.position;
            tokens[r] = new int[] {s.lastToken};
            adapterSlots[r] = s.adapterSlot;
        }
        float[][] logits = forward(variant, slots, starts, tokens, adapterSlots);
        float[][] out = new float[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            out[i] = logits[rowOf[i]];
        }
        return out;
    }

    /** Last-token logits of each row on {@code variant} (null: the base with the rows' adapters). */
    private float[][] forward(MergedVariant variant, int[] slots, int[] starts, int[][] tokens, int[] adapterSlots) {
        try (NDManager step = model.manager().newSubManager()) {
            float[] flat = modelOf(variant).lastLogits(step, cache, slots, starts, tokens, rows(variant, adapterSlots));
            int n = tokens.length;
            int vocab = flat.length / n;
            if (n == 1) {
                return new float[][] {flat}; // a single row's logits are the whole array: no copy
            }
            float[][] out = new float[n][];
            for (int i = 0; i < n; i++) {
                out[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
            }
            return out;
        }
    }
}
