package dev.chorus.engine.finetune;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.compress.CompressedMatrix;
import dev.chorus.engine.compress.CompressedParameters;
import dev.chorus.engine.compress.CompressionManifest;
import dev.chorus.engine.compress.MaskedMatrix;
import dev.chorus.engine.compress.Projection;
import dev.chorus.engine.compress.QuantizedMatrix;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Folds an SQFT adapter into its compressed base, keeping what the base promised:
 * sparse-peft → W' = Wᵖ + s·(BA ⊙ M) as sparse float weights, every pruned entry exactly 0;
 * qa-sparse-peft → new integer codes of W' on the base's own grid, scales and zero points unchanged.
 * The merged weights are computed by the same tensor expression the training forward used, so the
 * merged model computes what was trained.
 */
public final class AdapterMerge {
    private AdapterMerge() {
    }

    public static CompressedParameters merge(FrozenLinears frozen, Adapter adapter) {
        if (!adapter.type().mergedOnly()) {
            throw new IllegalArgumentException(adapter.type().label() + " adapters are served unmerged, on top of the shared base; "
                    + "merge takes sparse-peft and qa-sparse-peft");
        }
        CompressedParameters base = frozen.base();
        boolean quantized = adapter.type() == AdapterType.QA_SPARSE_PEFT;
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            TrainableAdapter trained = new TrainableAdapter(base.config(), adapter.type(), adapter.rank(), adapter.alpha(), adapter.targets(),
                    adapter.groupSize(), adapter, frozen, manager, DataType.FLOAT32, 0);
            for (int layer = 0; layer < base.blocks().size(); layer++) {
                CompressedParameters.Block block = base.blocks().get(layer);
                Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
                for (Projection p : Projection.values()) {
                    CompressedMatrix w = block.linear(p);
                    Adapter.Module m = new Adapter.Module(layer, p);
                    boolean targeted = adapter.targets().contains(p);
                    if (quantized) {
                        linears.put(p, targeted ? requantized(trained, m, (QuantizedMatrix) w, manager) : w);
                    } else {
                        linears.put(p, sparse(trained, m, w, frozen, targeted, manager));
                    }
                }
                blocks.add(new CompressedParameters.Block(block.attentionNorm(), block.ffnNorm(), linears));
            }
        }
        CompressionManifest mb = base.manifest();
        CompressionManifest manifest = quantized ? mb : new CompressionManifest(mb.formatVersion(), mb.pattern(), mb.sparsity(), null, null, null,
                mb.method(), false, mb.ebft(), null, mb.sourceFingerprint(), mb.calibration());
        return new CompressedParameters(base.config(), base.tokenEmbedding(), base.classifier(), base.finalNorm(), blocks, manifest);
    }

    /** W' as float32 with the base's mask; untargeted linears are the base's, dequantized. */
    private static MaskedMatrix sparse(TrainableAdapter trained, Adapter.Module m, CompressedMatrix w, FrozenLinears frozen, boolean targeted,
            NDManager manager) {
        var mask = frozen.masks().get(m);
        float[] values = w.dequantize();
        if (targeted) {
            try (NDManager s = manager.newSubManager()) {
                values = trained.effectiveWeight(m, s.create(values, new Shape(mask.rows(), mask.cols()))).toFloatArray();
            }
        }
        return new MaskedMatrix(mask.rows(), mask.cols(), values, mask);
    }

    /** New codes of W' on the base's grid; the scales, zero points and mask are the base's own arrays. */
    private static QuantizedMatrix requantized(TrainableAdapter trained, Adapter.Module m, QuantizedMatrix q, NDManager manager) {
        try (NDManager s = manager.newSubManager()) {
            NDArray w = s.create(q.dequantize(), new Shape(q.rows(), q.cols()));
            float[] codes = trained.codes(m, trained.merged(m, w)).toFloatArray();
            byte[] bytes = new byte[codes.length];
            for (int i = 0; i < codes.length; i++) {
                bytes[i] = (byte) (int) codes[i];
            }
            return new QuantizedMatrix(q.rows(), q.cols(), q.spec(), bytes, q.scales(), q.zeros(), q.mask());
        }
    }
}
