package dev.chorus.engine.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A compressed checkpoint directory: config.json (Hugging Face fields), chorus_compression.json
 * (the manifest), model.safetensors with codes (INT4: only the kept ones), scales, zero points and bit-packed masks
 * per block linear plus the untouched tensors, and the tokenizer files. It loads without the
 * source checkpoint; everything is validated before it is trusted.
 */
public final class CompressedCheckpoint {
    public static final String MANIFEST = "chorus_compression.json";
    private static final String WEIGHTS = "model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private CompressedCheckpoint() {
    }

    public static boolean looksLike(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve(MANIFEST));
    }

    /** Writes the directory; {@code tokenizerFiles} are copied beside the weights. */
    public static void write(CompressedParameters p, Path dir, List<Path> tokenizerFiles) {
        try {
            Files.createDirectories(dir);
            SafetensorsWriter out = new SafetensorsWriter();
            ModelConfig c = p.config();
            long dim = c.hiddenSize();
            out.addFloats("model.embed_tokens.weight", new long[] {c.vocabSize(), dim}, p.tokenEmbedding());
            if (!p.tied()) {
                out.addFloats("lm_head.weight", new long[] {c.vocabSize(), dim}, p.classifier());
            }
            out.addFloats("model.norm.weight", new long[] {dim}, p.finalNorm());
            for (int i = 0; i < p.blocks().size(); i++) {
                CompressedParameters.Block b = p.blocks().get(i);
                out.addFloats(layerPrefix(i) + "input_layernorm.weight", new long[] {dim}, b.attentionNorm());
                out.addFloats(layerPrefix(i) + "post_attention_layernorm.weight", new long[] {dim}, b.ffnNorm());
                for (Projection proj : Projection.values()) {
                    LinearTensors.write(out, linearPrefix(i, proj), b.linear(proj));
                }
            }
            out.metadata("format", "chorus-compressed");
            out.write(dir.resolve(WEIGHTS));
            HfCheckpoint.writeConfig(c, dir.resolve("config.json"));
            JSON.writeValue(dir.resolve(MANIFEST).toFile(), p.manifest().current());
            for (Path f : tokenizerFiles) {
                String name = f.getFileName().toString().endsWith(".bin") ? "tokenizer.bin" : f.getFileName().toString();
                Files.copy(f, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new CheckpointFormatException(dir + ": cannot write compressed checkpoint: " + e.getMessage(), e);
        }
    }

    public static CompressionManifest readManifest(Path dir) {
        Path file = dir.resolve(MANIFEST);
        CompressionManifest m;
        try {
            m = JSON.readValue(file.toFile(), CompressionManifest.class);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": not a valid compression manifest: " + e.getMessage(), e);
        }
        if (m.formatVersion() < CompressionManifest.OLDEST_READABLE_VERSION || m.formatVersion() > CompressionManifest.FORMAT_VERSION) {
            throw new CheckpointFormatException(file + ": unsupported format_version " + m.formatVersion() + " (this build reads "
                    + CompressionManifest.OLDEST_READABLE_VERSION + " to " + CompressionManifest.FORMAT_VERSION + ")");
        }
        if (m.bits() != null) {
            try {
                new QuantSpec(m.bits(), m.groupSize() == null ? 0 : m.groupSize(), Boolean.TRUE.equals(m.symmetric()));
            } catch (IllegalArgumentException e) {
                throw new CheckpointFormatException(file + ": " + e.getMessage());
            }
        }
        if (m.bcqPlanes() != null && (m.bcqPlanes() < 1 || m.bcqPlanes() > 8)) {
            throw new CheckpointFormatException(file + ": bcq_planes must be in 1..8, got " + m.bcqPlanes());
        }
        return m;
    }

    public static CompressedParameters read(Path dir) {
        CompressionManifest manifest = readManifest(dir);
        ModelConfig c = HfCheckpoint.readConfig(dir);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new CheckpointFormatException(dir + ": " + WEIGHTS + " not found");
        }
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            long dim = c.hiddenSize();
            float[] embedding = floats(f, "model.embed_tokens.weight", c.vocabSize(), dim);
            float[] classifier = f.contains("lm_head.weight") ? floats(f, "lm_head.weight", c.vocabSize(), dim) : embedding;
            List<CompressedParameters.Block> blocks = new ArrayList<>();
            for (int i = 0; i < c.numLayers(); i++) {
                Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
                for (Projection proj : Projection.values()) {
                    linears.put(proj, LinearTensors.read(f, linearPrefix(i, proj), proj.outFeatures(c), proj.inFeatures(c), manifest));
                }
                blocks.add(new CompressedParameters.Block(floats(f, layerPrefix(i) + "input_layernorm.weight", dim),
                        floats(f, layerPrefix(i) + "post_attention_layernorm.weight", dim), linears));
            }
            return new CompressedParameters(c, embedding, classifier, floats(f, "model.norm.weight", dim), blocks, manifest);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(dir + ": inconsistent compressed checkpoint: " + e.getMessage(), e);
        }
    }

    static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    static String linearPrefix(int layer, Projection p) {
        String group = switch (p) {
            case Q, K, V, O -> "self_attn.";
            case GATE, UP, DOWN -> "mlp.";
        };
        return layerPrefix(layer) + group + p.moduleName() + ".";
    }

    static float[] floats(SafetensorsFile f, String name, long... shape) {
        expect(f, name, TensorDtype.F32, shape);
        return f.readFloats(name);
    }

    static byte[] bytes(SafetensorsFile f, String name, long... shape) {
        expect(f, name, TensorDtype.U8, shape);
        ByteBuffer b = f.bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static void expect(SafetensorsFile f, String name, TensorDtype dtype, long... shape) {
        if (!f.contains(name)) {
            throw new CheckpointFormatException(f.path() + ": tensor " + name + " is missing");
        }
        var info = f.info(name);
        if (info.dtype() != dtype || !Arrays.equals(info.shape(), shape)) {
            throw new CheckpointFormatException(f.path() + ": tensor " + name + " is " + info.dtype() + Arrays.toString(info.shape())
                    + ", expected " + dtype + Arrays.toString(shape));
        }
    }
}
