package dev.chorus.engine.llama;

import java.util.List;

/**
 * All weights of a Llama model as row-major float32 arrays, in the model's own names (not a file
 * format's). Linear weights are [out, in] so that y = W x.
 */
public record DenseParameters(
        ModelConfig config,
        float[] tokenEmbedding, // [vocab, dim]
        List<Layer> layers,
        float[] finalNorm, // [dim]
        float[] classifier) { // [vocab, dim]; the same array as tokenEmbedding when tied

    public record Layer(
            float[] attentionNorm, // [dim]
            float[] query, // [heads * headDim, dim]
            float[] key, // [kvHeads * headDim, dim]
            float[] value, // [kvHeads * headDim, dim]
            float[] output, // [dim, heads * headDim]
            float[] ffnNorm, // [dim]
            float[] gate, // [hidden, dim]
            float[] up, // [hidden, dim]
            float[] down) { // [dim, hidden]
    }

    public DenseParameters {
        layers = List.copyOf(layers);
        int dim = config.hiddenSize();
        int hidden = config.intermediateSize();
        int kv = config.kvDim();
        expect("token embedding", tokenEmbedding, (long) config.vocabSize() * dim);
        expect("final norm", finalNorm, dim);
        expect("classifier", classifier, (long) config.vocabSize() * dim);
        if (layers.size() != config.numLayers()) {
            throw new InvalidModelException("expected " + config.numLayers() + " layers, found " + layers.size());
        }
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = "layer " + i + " ";
            expect(p + "attention norm", l.attentionNorm, dim);
            expect(p + "q_proj", l.query, (long) dim * dim);
            expect(p + "k_proj", l.key, (long) kv * dim);
            expect(p + "v_proj", l.value, (long) kv * dim);
            expect(p + "o_proj", l.output, (long) dim * dim);
            expect(p + "ffn norm", l.ffnNorm, dim);
            expect(p + "gate_proj", l.gate, (long) hidden * dim);
            expect(p + "up_proj", l.up, (long) hidden * dim);
            expect(p + "down_proj", l.down, (long) dim * hidden);
        }
    }

    private static void expect(String what, float[] data, long elements) {
        if (data == null) {
            throw new InvalidModelException(what + " is missing");
        }
        if (data.length != elements) {
            throw new InvalidModelException(what + " has " + data.length + " elements, expected " + elements);
        }
    }
}
