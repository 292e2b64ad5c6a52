package dev.chorus.engine.adapter;

import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.Projection;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the SQFT methods need of the compressed base's block linears: the sparsity mask of each
 * (SparsePEFT keeps the delta inside it) and, when quantized, its group scales and zero points
 * (QA-SparsePEFT fake-quantizes with exactly these).
 */
public record FrozenLinears(CompressedParameters base, Map<Adapter.Module, SparsityMask> masks, Map<Adapter.Module, QuantizedMatrix> quantized) {

    public FrozenLinears {
        masks = Map.copyOf(masks);
        quantized = Map.copyOf(quantized);
    }

    /** The compressed checkpoint at {@code path}; SQFT methods need one (a dense base has no mask to keep). */
    public static FrozenLinears read(Path path) {
        if (!(Checkpoints.open(path) instanceof Checkpoint.Compressed compressed)) {
            throw new IllegalArgumentException(path + " is not a compressed checkpoint: sparse-peft and qa-sparse-peft keep a pruned "
                    + "base's mask (use lora on a dense base)");
        }
        CompressedParameters p = compressed.read();
        Map<Adapter.Module, SparsityMask> masks = new HashMap<>();
        Map<Adapter.Module, QuantizedMatrix> quantized = new HashMap<>();
        for (int layer = 0; layer < p.blocks().size(); layer++) {
            for (Projection proj : Projection.values()) {
                Adapter.Module m = new Adapter.Module(layer, proj);
                CompressedMatrix w = p.blocks().get(layer).linear(proj);
                if (w instanceof QuantizedMatrix q) {
                    masks.put(m, q.mask());
                    quantized.put(m, q);
                } else if (w instanceof MaskedMatrix masked) {
                    masks.put(m, masked.mask());
                } else {
                    throw new IllegalArgumentException(path + ": binary-coded linears have no integer grid for QA-SparsePEFT; use a "
                            + "group-quantized or sparsity-only base");
                }
            }
        }
        return new FrozenLinears(p, masks, quantized);
    }

    /** Per-group values expanded to every column: [rows, groups] → [rows, cols]. */
    static float[] perColumn(QuantizedMatrix q, boolean zeros) {
        float[] out = new float[q.rows() * q.cols()];
        int g = q.spec().groupSize();
        for (int r = 0; r < q.rows(); r++) {
            for (int c = 0; c < q.cols(); c++) {
                out[r * q.cols() + c] = zeros ? q.zero(r, c / g) : q.scale(r, c / g);
            }
        }
        return out;
    }
}
