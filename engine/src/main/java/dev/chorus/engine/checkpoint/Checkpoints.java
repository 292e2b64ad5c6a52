package dev.chorus.engine.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;

/** The one place that tells checkpoint formats apart. */
public final class Checkpoints {
    private Checkpoints() {
    }

    /**
     * A compressed checkpoint directory (chorus_compression.json), a Hugging Face directory
     * (config.json) or a llama2.c .bin file. Nothing is read beyond what tells them apart.
     */
    public static Checkpoint open(Path path) {
        if (!Files.exists(path)) {
            throw new CheckpointFormatException(path + ": no such file or directory");
        }
        if (CompressedCheckpoint.looksLike(path)) {
            return new Checkpoint.Compressed(path);
        }
        if (HfCheckpoint.looksLike(path)) {
            return new Checkpoint.HuggingFace(path);
        }
        if (Llama2cCheckpoint.looksLike(path)) {
            return new Checkpoint.Llama2c(path);
        }
        throw new CheckpointFormatException(path + ": not a model (expected a directory with config.json or a llama2.c .bin file)");
    }
}
