package dev.chorus.engine.compressed;

import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** A compressed model: embeddings, norms and classifier as float32, every block linear compressed. */
public record CompressedParameters(
        ModelConfig config,
        float[] tokenEmbedding, // [vocab, dim]
        float[] classifier, // [vocab, dim]; the same array as tokenEmbedding when tied
        float[] finalNorm, // [dim]
        List<Block> blocks,
        CompressionManifest manifest) {

    public record Block(float[] attentionNorm, float[] ffnNorm, Map<Projection, CompressedMatrix> linears) {
        public Block {
            if (linears.size() != Projection.values().length) {
                throw new IllegalArgumentException("a block needs all seven projections, got " + linears.keySet());
            }
            linears = Map.copyOf(new EnumMap<>(linears));
        }

        public CompressedMatrix linear(Projection p) {
            return linears.get(p);
        }

        /** The block as the compressed model computes it, with every linear expanded to float32. */
        public DenseParameters.Layer dequantized() {
            return new DenseParameters.Layer(attentionNorm, linear(Projection.Q).dequantize(), linear(Projection.K).dequantize(),
                    linear(Projection.V).dequantize(), linear(Projection.O).dequantize(), ffnNorm, linear(Projection.GATE).dequantize(),
                    linear(Projection.UP).dequantize(), linear(Projection.DOWN).dequantize());
        }
    }

    public CompressedParameters {
        blocks = List.copyOf(blocks);
    }

    public boolean tied() {
        return classifier == tokenEmbedding;
    }

    /** Bytes of the compressed block linears (what compression shrinks). */
    public long linearBytes() {
        long total = 0;
        for (Block b : blocks) {
            for (CompressedMatrix m : b.linears().values()) {
                total += m.residentBytes();
            }
        }
        return total;
    }

    /** Bytes the block linears would take as float32. */
    public long linearBytesFp32() {
        long total = 0;
        for (Block b : blocks) {
            for (CompressedMatrix m : b.linears().values()) {
                total += (long) m.rows() * m.cols() * Float.BYTES;
            }
        }
        return total;
    }
}
