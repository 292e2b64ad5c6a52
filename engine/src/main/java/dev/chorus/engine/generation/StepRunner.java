package dev.chorus.engine.generation;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import java.util.Arrays;
import java.util.List;

/** Runs forward passes for the loop: prompt chunks of several sequences, or one decode row per running sequence. */
final class StepRunner {
    private final LoadedModel model;
    private final KvCache cache;
    private final AdapterRuntime adapters;

    StepRunner(LoadedModel model, KvCache cache, AdapterRuntime adapters) {
        this.model = model;
        this.cache = cache;
        this.adapters = adapters;
    }

    private RowAdapters rows(int[] adapterSlots) {
        return adapters == null ? null : adapters.forRows(adapterSlots);
    }

    /**
     * One pass over prompt chunks of several sequences together: row i feeds {@code chunks[i]} more
     * prompt tokens of {@code batch.get(i)}, from the position its cache has reached; returns each
     * row's logits after its chunk's last token.
     */
    float[][] prefill(List<Sequence> batch, int[] chunks) {
        int n = batch.size();
        int[] slots = new int[n];
        int[] starts = new int[n];
        int[][] tokens = new int[n][];
        int[] adapterSlots = new int[n];
        for (int i = 0; i < n; i++) {
            Sequence s = batch.get(i);
            slots[i] = s.slot;
            starts[i] = s.position;
            tokens[i] = Arrays.copyOfRange(s.request.promptIds(), s.position, s.position + chunks[i]);
            adapterSlots[i] = s.adapterSlot;
        }
        try (NDManager step = model.manager().newSubManager()) {
            float[] flat = model.model().forward(step, cache, slots, starts, tokens, false, rows(adapterSlots)).toFloatArray();
            int vocab = flat.length / n;
            float[][] out = new float[n][];
            for (int i = 0; i < n; i++) {
                out[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
                batch.get(i).position += chunks[i];
            }
            return out;
        }
    }

    /**
     * One decode step for {@code batch}; returns its logits in batch order. When the batch's slots
     * span few holes, none of them a slot still being prefilled ({@code prefilling}), rows cover the
     * whole slot range (holes decode a throwaway token at position 0 of their free slot) so the model
     * reads the cache through a view instead of a gather.
     */
    float[][] decode(List<Sequence> batch, List<Sequence> prefilling) {
        int lo = Integer.MAX_VALUE;
        int hi = -1;
        for (Sequence s : batch) {
            lo = Math.min(lo, s.slot);
            hi = Math.max(hi, s.slot);
        }
        boolean padded = hi - lo + 1 <= batch.size() + Math.max(1, batch.size() / 4);
        for (Sequence p : prefilling) {
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
        try (NDManager step = model.manager().newSubManager()) {
            float[] flat = model.model().forward(step, cache, slots, starts, tokens, false, rows(adapterSlots)).toFloatArray();
            int vocab = flat.length / n;
            float[][] out = new float[batch.size()][];
            for (int i = 0; i < batch.size(); i++) {
                out[i] = Arrays.copyOfRange(flat, rowOf[i] * vocab, (rowOf[i] + 1) * vocab);
                batch.get(i).position++;
            }
            return out;
        }
    }
}
