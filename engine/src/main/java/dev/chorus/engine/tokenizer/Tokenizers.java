package dev.chorus.engine.tokenizer;

import java.nio.file.Path;

/** Opens a tokenizer file by its format: Hugging Face tokenizer.json, else llama2.c's binary vocabulary. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** {@code vocabSize}: the model's, which a llama2.c vocabulary file does not record. */
    public static Tokenizer open(Path file, int vocabSize) {
        return file.getFileName().toString().endsWith(".json") ? HfTokenizer.load(file) : Llama2cTokenizer.load(file, vocabSize);
    }
}
