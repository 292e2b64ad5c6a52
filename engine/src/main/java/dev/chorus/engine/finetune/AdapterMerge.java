package dev.chorus.engine.finetune;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Folds an adapter into its base, keeping what the base promised (ARCHITECTURE.md §4):
 * sparse-peft → W' = Wᵖ + s·(BA ⊙ M) as sparse float weights, every pruned entry exactly 0;
 * qa-sparse-peft → new integer codes of W' on the base's own grid, scales and zero points unchanged;
 * qa-lora → its delta is constant over each quantization group, so it folds exactly into the zero
 * points, z' = z − ΔW/s_q per (row, group), codes and scales unchanged;
 * lora on a dense base → W + s·BA. SQFT weights are computed by the same tensor expression the
 * training forward used, so the merged model computes what was trained.
 */
public final class AdapterMerge {
    private AdapterMerge() {
    }

    public static CompressedParameters merge(FrozenLinears frozen, Adapter adapter) {
        if (adapter.type() == AdapterType.QA_LORA || adapter.type() == AdapterType.QA_HIRA) {
            return foldIntoZeroPoints(frozen.base(), adapter);
        }
        if (!adapter.type().mergedOnly()) {
            throw new IllegalArgumentException(adapter.type().label() + " adapters are served unmerged on a compressed base (a " + adapter.type().label()
                    + " delta is not constant over quantization groups); merge takes sparse-peft, qa-sparse-peft and qa-lora");
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

    /**
     * QA-LoRA: ΔW[o, j] = s·(B·A)[o, j/g]/g, QA-HiRA: ΔW[o, j] = s·A[o/r, j/g]/g (r the output group);
     * both are constant over each quantization group, so only the zero points move.
     */
    static CompressedParameters foldIntoZeroPoints(CompressedParameters base, Adapter adapter) {
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (int layer = 0; layer < base.blocks().size(); layer++) {
            CompressedParameters.Block block = base.blocks().get(layer);
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                CompressedMatrix w = block.linear(p);
                Adapter.Weights aw = adapter.modules().get(new Adapter.Module(layer, p));
                if (aw == null) {
                    linears.put(p, w);
                    continue;
                }
                if (!(w instanceof QuantizedMatrix q) || q.spec().groupSize() != adapter.groupSize()) {
                    throw new IllegalArgumentException("a " + adapter.type().label() + " adapter folds only into a base quantized with its group size "
                            + adapter.groupSize() + " (layer " + layer + " " + p.moduleName() + " is not)");
                }
                int groups = q.spec().groups(q.cols());
                float[] shift = q.zeroShift() == null ? new float[q.rows() * groups] : q.zeroShift().clone();
                for (int o = 0; o < q.rows(); o++) {
                    for (int g = 0; g < groups; g++) {
                        double delta = 0; // (B·A)[o, g], or A[o/r, g] for qa-hira
                        if (adapter.type() == AdapterType.QA_HIRA) {
                            delta = aw.a()[(o / adapter.rank()) * groups + g];
                        } else {
                            for (int k = 0; k < adapter.rank(); k++) {
                                delta += (double) aw.b()[o * adapter.rank() + k] * aw.a()[k * groups + g];
                            }
                        }
                        delta *= adapter.scaling() / adapter.groupSize();
                        shift[o * groups + g] -= (float) (delta / q.scale(o, g));
                    }
                }
                linears.put(p, new QuantizedMatrix(q.rows(), q.cols(), q.spec(), q.codes(), q.scales(), q.zeros(), q.mask(), shift));
            }
            blocks.add(new CompressedParameters.Block(block.attentionNorm(), block.ffnNorm(), linears));
        }
        return new CompressedParameters(base.config(), base.tokenEmbedding(), base.classifier(), base.finalNorm(), blocks, base.manifest());
    }

    /** LoRA on a dense base: W' = W + s·B·A, written in the compressed format with nothing pruned. */
    public static CompressedParameters mergeDense(DenseParameters base, Adapter adapter, String fingerprint) {
        if (adapter.type() != AdapterType.LORA) {
            throw new IllegalArgumentException("on a dense base only lora adapters merge; " + adapter.type().label()
                    + (adapter.type() == AdapterType.SCALE ? " has nothing to merge" : " needs a compressed base"));
        }
        var c = base.config();
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            var l = base.layers().get(layer);
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                int out = p.outFeatures(c);
                int in = p.inFeatures(c);
                float[] w = p.of(l).clone();
                Adapter.Weights aw = adapter.modules().get(new Adapter.Module(layer, p));
                if (aw != null) {
                    for (int o = 0; o < out; o++) {
                        for (int i = 0; i < in; i++) {
                            double delta = 0;
                            for (int k = 0; k < adapter.rank(); k++) {
                                delta += (double) aw.b()[o * adapter.rank() + k] * aw.a()[k * in + i];
                            }
                            w[o * in + i] += (float) (adapter.scaling() * delta);
                        }
                    }
                }
                linears.put(p, new MaskedMatrix(out, in, w, SparsityMask.allKept(out, in)));
            }
            blocks.add(new CompressedParameters.Block(l.attentionNorm(), l.ffnNorm(), linears));
        }
        CompressionManifest manifest = new CompressionManifest(CompressionManifest.FORMAT_VERSION, "dense", 0.0, null, null, null, "lora-merge",
                false, false, null, fingerprint, null);
        return new CompressedParameters(c, base.tokenEmbedding(), base.classifier(), base.finalNorm(), blocks, manifest);
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
