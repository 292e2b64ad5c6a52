package dev.chorus.engine.finetune;

import dev.chorus.engine.checkpoint.DenseParameters;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.compress.CompressedCheckpoint;
import dev.chorus.engine.compress.CompressedParameters;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The frozen base a fine-tune trains against, as float32 weights: a dense checkpoint as it is, a
 * compressed one with every block dequantized to exactly what the compressed model computes (SQFT:
 * adapters are trained against the served base, pruning and quantization included).
 */
public final class BaseWeights {
    private BaseWeights() {
    }

    public static DenseParameters load(Path path) {
        if (Files.isDirectory(path) && CompressedCheckpoint.looksLike(path)) {
            CompressedParameters c = CompressedCheckpoint.read(path);
            return new DenseParameters(c.config(), c.tokenEmbedding(), c.blocks().stream().map(CompressedParameters.Block::dequantized).toList(),
                    c.finalNorm(), c.classifier());
        }
        if (Files.isDirectory(path)) {
            return HfCheckpoint.read(path);
        }
        return Llama2cCheckpoint.read(path);
    }

    /** Whether {@code path} is a compressed checkpoint (its block linears are dequantized for training). */
    public static boolean compressed(Path path) {
        return Files.isDirectory(path) && CompressedCheckpoint.looksLike(path);
    }
}
