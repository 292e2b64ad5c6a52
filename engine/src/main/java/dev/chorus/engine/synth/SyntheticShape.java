package dev.chorus.engine.synth;

import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Named model shapes of the llama2.c TinyStories family, for benchmarks at realistic sizes. */
public enum SyntheticShape {
    STORIES15M(288, 768, 6, 6, 6, 32000, 256),
    STORIES42M(512, 1376, 8, 8, 8, 32000, 1024),
    STORIES110M(768, 2048, 12, 12, 12, 32000, 1024);

    private final ModelConfig config;

    SyntheticShape(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen) {
        this.config = new ModelConfig(dim, hidden, heads, kvHeads, layers, vocab, seqLen, 1e-5f, 10000f, true, Llama2cCheckpoint.BOS,
                Llama2cCheckpoint.EOS, RopeStyle.INTERLEAVED);
    }

    public ModelConfig config() {
        return config;
    }

    public String label() {
        return name().replace("STORIES", "stories");
    }

    public static SyntheticShape parse(String text) {
        for (SyntheticShape s : values()) {
            if (s.label().equalsIgnoreCase(text)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + text + "' (known: "
                + Arrays.stream(values()).map(SyntheticShape::label).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return label().toLowerCase(Locale.ROOT);
    }
}
