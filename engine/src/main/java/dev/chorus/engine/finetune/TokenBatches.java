package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
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

    /** A preference pair's two sequences, each BOS prompt completion EOS. */
    record Pair(Encoded chosen, Encoded rejected) {
    }

    /** inputs and targets [N, T] int64, mask [N, T] in the training dtype. */
    record Batch(NDArray inputs, NDArray targets, NDArray mask) {
    }

    private TokenBatches() {
    }

    static List<Encoded> encode(List<TrainingExample> examples, Tokenizer tokenizer, int eos, int maxLength) {
        List<Encoded> out = new ArrayList<>();
        for (TrainingExample e : examples) {
            Encoded full = encode(e, tokenizer, eos);
            int length = Math.min(full.ids().length, maxLength + 1); // one more id than positions
            int[] ids = Arrays.copyOf(full.ids(), length);
            if (full.promptLength() < length) { // a prompt that fills the context leaves nothing to learn
                out.add(new Encoded(ids, Math.max(1, full.promptLength())));
            }
        }
        return out;
    }

    /** Pairs whose two sequences both keep completion tokens within the context. */
    static List<Pair> encodePairs(List<PreferenceExample> pairs, Tokenizer tokenizer, int eos, int maxLength) {
        List<Pair> out = new ArrayList<>();
        for (PreferenceExample p : pairs) {
            List<Encoded> both = encode(List.of(p.preferred(), p.dispreferred()), tokenizer, eos, maxLength);
            if (both.size() == 2) {
                out.add(new Pair(both.get(0), both.get(1)));
            }
        }
        return out;
    }

    /**
     * BOS prompt completion EOS, with the prompt's ids exactly as serving encodes a prompt, so the
     * model learns to continue what it will be given. Tokenizers whose merges span spaces (". A")
     * encode prompt+completion with a token across the boundary; then the completion's own ids are
     * used when they decode to the same text, else the joint ids, with the loss from the first id
     * that differs from the prompt's.
     */
    static Encoded encode(TrainingExample e, Tokenizer tokenizer, int eos) {
        int[] prompt = tokenizer.encode(e.prompt());
        int[] joint = tokenizer.encode(e.prompt() + e.completion());
        int common = 0;
        while (common < prompt.length && common < joint.length && prompt[common] == joint[common]) {
            common++;
        }
        if (common < prompt.length) {
            String text = tokenizer.decode(joint);
            int[] alone = tokenizer.encode(e.completion()); // BOS first, maybe a dummy-prefix piece after it
            for (int skip = 1; skip <= Math.min(3, alone.length - 1); skip++) {
                int[] continuation = Arrays.copyOfRange(alone, skip, alone.length);
                int[] ids = concat(prompt, continuation);
                if (tokenizer.decode(ids).equals(text)) {
                    return new Encoded(withEos(ids, eos), prompt.length);
                }
            }
        }
        return new Encoded(withEos(joint, eos), Math.min(common, prompt.length));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int[] withEos(int[] ids, int eos) {
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = eos;
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
