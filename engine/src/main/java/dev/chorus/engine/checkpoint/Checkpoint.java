package dev.chorus.engine.checkpoint;

import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.llama.DenseParameters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A model on disk whose format has been told apart, once, by {@link Checkpoints#open}. */
public sealed interface Checkpoint permits Checkpoint.HuggingFace, Checkpoint.Llama2c, Checkpoint.Compressed {
    /** Tokenizer and generation files that travel with a checkpoint derived from this one. */
    List<String> COMPANION_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
            "tokenizer.bin");

    Path path();

    /** The weights as float32. A compressed checkpoint's block linears come dequantized: exactly what it computes. */
    DenseParameters dense();

    /** tokenizer.json or tokenizer.bin in a model directory; tokenizer.bin or tok512.bin beside a llama2.c file. */
    Optional<Path> tokenizerFile();

    /** The files beside the weights (tokenizer, its config) to copy into a checkpoint derived from this one. */
    List<Path> companionFiles();

    /** A Hugging Face directory: config.json with model.safetensors or a sharded index. */
    record HuggingFace(Path path) implements Checkpoint {
        @Override
        public DenseParameters dense() {
            return HfCheckpoint.read(path);
        }

        @Override
        public Optional<Path> tokenizerFile() {
            return firstExisting(path, "tokenizer.json", "tokenizer.bin");
        }

        @Override
        public List<Path> companionFiles() {
            return existing(path, COMPANION_FILES);
        }
    }

    /** A llama2.c .bin file; its tokenizer lies beside it. */
    record Llama2c(Path path) implements Checkpoint {
        @Override
        public DenseParameters dense() {
            return Llama2cCheckpoint.read(path);
        }

        @Override
        public Optional<Path> tokenizerFile() {
            return firstExisting(path.toAbsolutePath().getParent(), "tokenizer.bin", "tok512.bin");
        }

        @Override
        public List<Path> companionFiles() {
            return tokenizerFile().stream().toList();
        }
    }

    /** A directory written by Chorus's compression or merge: packed codes, scales and masks, and its manifest. */
    record Compressed(Path path) implements Checkpoint {
        public CompressedParameters read() {
            return CompressedCheckpoint.read(path);
        }

        public CompressionManifest manifest() {
            return CompressedCheckpoint.readManifest(path);
        }

        @Override
        public DenseParameters dense() {
            CompressedParameters c = read();
            return new DenseParameters(c.config(), c.tokenEmbedding(), c.blocks().stream().map(CompressedParameters.Block::dequantized).toList(),
                    c.finalNorm(), c.classifier());
        }

        @Override
        public Optional<Path> tokenizerFile() {
            return firstExisting(path, "tokenizer.json", "tokenizer.bin");
        }

        @Override
        public List<Path> companionFiles() {
            return existing(path, COMPANION_FILES);
        }
    }

    private static Optional<Path> firstExisting(Path dir, String... names) {
        return existing(dir, List.of(names)).stream().findFirst();
    }

    private static List<Path> existing(Path dir, List<String> names) {
        return names.stream().map(dir::resolve).filter(Files::isRegularFile).toList();
    }
}
