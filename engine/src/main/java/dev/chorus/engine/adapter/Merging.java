package dev.chorus.engine.adapter;

import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The merge skeletons the kinds share: rewrite every block linear, and the exact fold of a group-constant delta into zero points. */
final class Merging {
    private Merging() {
    }

    /** Rewrites one block linear; untouched ones are returned as they are (shared, not copied). */
    interface LinearRewrite {
        CompressedMatrix apply(Adapter.Module m, CompressedMatrix w);
    }

    /** The delta of one module, constant over each quantization group: ΔW[o, group] / (s/g), before scaling. */
    interface GroupDelta {
        double at(ModuleWeights w, int o, int group, int groups);
    }

    static CompressedParameters rewrite(CompressedParameters base, LinearRewrite rewrite, CompressionManifest manifest) {
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (int layer = 0; layer < base.blocks().size(); layer++) {
            CompressedParameters.Block block = base.blocks().get(layer);
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                linears.put(p, rewrite.apply(new Adapter.Module(layer, p), block.linear(p)));
            }
            blocks.add(new CompressedParameters.Block(block.attentionNorm(), block.ffnNorm(), linears));
        }
        return new CompressedParameters(base.config(), base.tokenEmbedding(), base.classifier(), base.finalNorm(), blocks, manifest);
    }

    /**
     * A dense base in the compressed format with nothing pruned (every linear a fully kept
     * {@link MaskedMatrix}), each linear then rewritten; {@code method} names the merge in the manifest.
     */
    static CompressedParameters denseBase(DenseParameters base, String fingerprint, String method, LinearRewrite rewrite) {
        ModelConfig c = base.config();
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            var l = base.layers().get(layer);
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                int out = p.outFeatures(c);
                int in = p.inFeatures(c);
                linears.put(p, rewrite.apply(new Adapter.Module(layer, p), new MaskedMatrix(out, in, p.of(l), SparsityMask.allKept(out, in))));
            }
            blocks.add(new CompressedParameters.Block(l.attentionNorm(), l.ffnNorm(), linears));
        }
        CompressionManifest manifest = new CompressionManifest(CompressionManifest.FORMAT_VERSION, "dense", 0.0, null, null, null, method,
                false, false, null, fingerprint, null);
        return new CompressedParameters(c, base.tokenEmbedding(), base.classifier(), base.finalNorm(), blocks, manifest);
    }

    /**
     * A delta constant over each quantization group folds exactly into the zero points,
     * z' = z − ΔW/s_q per (row, group); codes and scales stay the base's.
     */
    static CompressedParameters foldIntoZeroPoints(CompressedParameters base, Adapter adapter, int groupSize, GroupDelta delta) {
        float factor = adapter.scaling() / groupSize; // ΔW[o, j] = s·delta[o, j/g]/g
        return rewrite(base, (m, w) -> {
            ModuleWeights aw = adapter.modules().get(m);
            if (aw == null) {
                return w;
            }
            if (!(w instanceof QuantizedMatrix q) || q.spec().groupSize() != groupSize) {
                throw new UnmergeableAdapterException("a " + adapter.type().label() + " adapter folds only into a base quantized with its group size "
                        + groupSize + " (layer " + m.layer() + " " + m.projection().moduleName() + " is not)");
            }
            int groups = q.spec().groups(q.cols());
            float[] shift = q.zeroShift() == null ? new float[q.rows() * groups] : q.zeroShift().clone();
            for (int o = 0; o < q.rows(); o++) {
                for (int g = 0; g < groups; g++) {
                    double d = delta.at(aw, o, g, groups) * factor;
                    shift[o * groups + g] -= (float) (d / q.scale(o, g));
                }
            }
            return new QuantizedMatrix(q.rows(), q.cols(), q.spec(), q.codes(), q.scales(), q.zeros(), q.mask(), shift);
        }, base.manifest());
    }

    /** The refusal of kinds that stay unmerged on a compressed base. */
    static UnmergeableAdapterException servedUnmerged(AdapterType type) {
        return new UnmergeableAdapterException(type.label() + " adapters are served unmerged on a compressed base (a " + type.label()
                + " delta is not constant over quantization groups); merge takes sparse-peft, qa-sparse-peft, qa-lora, qa-hira and scale");
    }

    /** The refusal of kinds other than lora on a dense base. */
    static UnmergeableAdapterException notOnDense(AdapterType type, String why) {
        return new UnmergeableAdapterException("on a dense base only lora adapters merge; " + type.label() + why);
    }
}
