package dev.chorus.engine.llama;


/** Shape and hyper-parameters of a Llama-family model, whatever file format it came from. */
public record ModelConfig(
        int hiddenSize,
        int intermediateSize,
        int numHeads,
        int numKvHeads,
        int numLayers,
        int vocabSize,
        int maxPositions,
        float rmsNormEps,
        float ropeTheta,
        boolean tiedEmbeddings,
        int bosId,
        int eosId,
        RopeStyle ropeStyle) {

    public ModelConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("num_hidden_layers", numLayers);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositions);
        if (hiddenSize % numHeads != 0) {
            throw new InvalidModelException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numHeads);
        }
        if (numHeads % numKvHeads != 0) {
            throw new InvalidModelException("num_attention_heads " + numHeads + " is not divisible by num_key_value_heads " + numKvHeads);
        }
        if ((hiddenSize / numHeads) % 2 != 0) {
            throw new InvalidModelException("head dimension " + hiddenSize / numHeads + " must be even for RoPE");
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new InvalidModelException("rms_norm_eps and rope_theta must be positive");
        }
        if (bosId < 0 || bosId >= vocabSize || eosId < 0 || eosId >= vocabSize) {
            throw new InvalidModelException("bos/eos token ids " + bosId + "/" + eosId + " outside the vocabulary of " + vocabSize);
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new InvalidModelException(field + " must be a positive integer, got " + value);
        }
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    public int kvDim() {
        return numKvHeads * headDim();
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }
}
