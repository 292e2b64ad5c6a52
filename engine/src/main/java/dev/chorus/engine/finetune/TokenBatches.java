package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Examples as token ids with the loss on completion tokens only: ids = BOS prompt completion EOS,
 * inputs ids[0..L−2], targets ids[1..L−1], target j counted iff it is a completion token. Batches
 * are right-padded to one fixed length (the training forward's causal mask is built for it).
 */
final class TokenBatches {
    record Encoded(int[] ids, int promptLength) {
        int targets() {
            return ids.length - promptLength;
        }
    }

    /** inputs and targets [N, T] int64, mask [N, T] in the training dtype. */
    record Batch(NDArray inputs, NDArray targets, NDArray mask) {
    }

    private TokenBatches() {
    }

    static List<Encoded> encode(List<TrainingExample> examples, Tokenizer tokenizer, int eos, int maxLength) {
        List<Encoded> out = new ArrayList<>();
        for (TrainingExample e : examples) {
            int prompt = tokenizer.encode(e.prompt()).length;
            int[] text = tokenizer.encode(e.prompt() + e.completion());
            int length = Math.min(text.length + 1, maxLength + 1); // + EOS; one more id than positions
            int[] ids = java.util.Arrays.copyOf(text, length);
            if (text.length + 1 <= maxLength + 1) {
                ids[length - 1] = eos;
            }
            if (prompt < length) { // a prompt that fills the context leaves nothing to learn
                out.add(new Encoded(ids, Math.max(1, Math.min(prompt, length - 1))));
            }
        }
        return out;
    }

    static int length(List<Encoded> examples) {
        return examples.stream().mapToInt(e -> e.ids().length - 1).max().orElse(1);
    }

    static Batch batch(List<Encoded> examples, int length, NDManager manager, DataType dtype) {
        int n = examples.size();
        long[] inputs = new long[n * length];
        long[] targets = new long[n * length];
        float[] mask = new float[n * length];
        for (int i = 0; i < n; i++) {
            int[] ids = examples.get(i).ids();
            for (int j = 0; j < ids.length - 1 && j < length; j++) {
                inputs[i * length + j] = ids[j];
                targets[i * length + j] = ids[j + 1];
                mask[i * length + j] = j + 1 >= examples.get(i).promptLength() ? 1f : 0f;
            }
        }
        Shape shape = new Shape(n, length);
        return new Batch(manager.create(inputs, shape), manager.create(targets, shape), manager.create(mask, shape).toType(dtype, false));
    }
}
