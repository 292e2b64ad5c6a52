package dev.chorus.engine.adapter;

import dev.chorus.engine.compress.GroupQuantizer;
import dev.chorus.engine.compress.Pruner;
import dev.chorus.engine.compress.SparsityPattern;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

/** Random adapters of every type, and a compressed base, for tests. */
public final class BatchedAdapterForwardTestSupport {
    private BatchedAdapterForwardTestSupport() {
    }

    public static Adapter randomAdapter(ModelConfig c, AdapterType type, int rank, long seed) {
        return RandomAdapters.generate(c, type, rank, EnumSet.allOf(Projection.class), type == AdapterType.SCALE ? 0.2 : 0.1, seed, null);
    }

    /** 50 % magnitude sparsity + INT4 g128 on every block linear. */
    public static CompressedParameters compress(DenseParameters p) {
        ModelConfig c = p.config();
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (DenseParameters.Layer l : p.layers()) {
            Map<Projection, CompressedMatrix> m = new EnumMap<>(Projection.class);
            for (Projection proj : Projection.values()) {
                int rows = proj.outFeatures(c);
                int cols = proj.inFeatures(c);
                SparsityMask mask = Pruner.magnitude(proj.of(l), rows, cols, new SparsityPattern.Unstructured(0.5));
                m.put(proj, GroupQuantizer.quantize(proj.of(l), rows, cols, mask, new QuantSpec(4, 128, false)));
            }
            blocks.add(new CompressedParameters.Block(l.attentionNorm(), l.ffnNorm(), m));
        }
        return new CompressedParameters(c, p.tokenEmbedding(), p.classifier(), p.finalNorm(), blocks,
                new CompressionManifest(1, "0.5", 0.5, 4, 128, false, "magnitude", false, false, null, "test", "none"));
    }
}
