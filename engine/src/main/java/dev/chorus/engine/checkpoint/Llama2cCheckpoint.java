package dev.chorus.engine.checkpoint;

import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.InvalidModelException;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * llama2.c checkpoint files: a header of 7 little-endian int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier follows), then
 * float32 weights in llama2.c's order. Weights use Meta's interleaved RoPE layout.
 */
public final class Llama2cCheckpoint {
    static final int HEADER_BYTES = 7 * Integer.BYTES;
    /** llama2.c's tokenizer uses 1 for BOS and 2 for EOS. */
    public static final int BOS = 1;
    public static final int EOS = 2;

    private Llama2cCheckpoint() {
    }

    public static boolean looksLike(Path path) {
        return Files.isRegularFile(path) && path.getFileName().toString().endsWith(".bin");
    }

    public static DenseParameters read(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < HEADER_BYTES) {
                throw new CheckpointFormatException(file + ": too short for a llama2.c header (" + size + " bytes)");
            }
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(header, 0);
            header.flip();
            int dim = header.getInt();
            int hidden = header.getInt();
            int layers = header.getInt();
            int heads = header.getInt();
            int kvHeads = header.getInt();
            int vocabField = header.getInt();
            int seqLen = header.getInt();
            boolean shared = vocabField > 0;
            int vocab = Math.abs(vocabField);
            ModelConfig config;
            try {
                config = new ModelConfig(dim, hidden, heads, kvHeads, layers, vocab, seqLen, 1e-5f, 10000f, shared, BOS, EOS,
                        RopeStyle.INTERLEAVED);
            } catch (InvalidModelException e) {
                throw new CheckpointFormatException(file + ": invalid llama2.c header: " + e.getMessage());
            }
            long expected;
            try {
                expected = Math.addExact(HEADER_BYTES, Math.multiplyExact(4L, floatCount(config, shared)));
            } catch (ArithmeticException e) {
                throw new CheckpointFormatException(file + ": the header's shape overflows any possible file size");
            }
            if (size != expected) {
                throw new CheckpointFormatException(file + ": size " + size + " bytes does not match the header's shape (expected "
                        + expected + " bytes)");
            }
            FloatBuffer floats = channel.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES, size - HEADER_BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            return parse(config, floats, shared);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot read llama2.c checkpoint: " + e.getMessage(), e);
        }
    }

    /** Number of float32 values after the header, freq_cis tables included (llama2.c still writes them). */
    static long floatCount(ModelConfig c, boolean sharedClassifier) {
        long dim = c.hiddenSize();
        long kv = c.kvDim();
        long hidden = c.intermediateSize();
        long perLayer = Math.addExact(Math.addExact(2 * dim + 2 * Math.multiplyExact(dim, dim), 2 * Math.multiplyExact(kv, dim)),
                Math.multiplyExact(3, Math.multiplyExact(hidden, dim)));
        long embedding = Math.multiplyExact((long) c.vocabSize(), dim);
        long total = Math.addExact(Math.addExact(embedding, Math.multiplyExact(c.numLayers(), perLayer)),
                dim + (long) c.maxPositions() * c.headDim());
        return sharedClassifier ? total : Math.addExact(total, embedding);
    }

    private static DenseParameters parse(ModelConfig c, FloatBuffer in, boolean shared) {
        int n = c.numLayers();
        int dim = c.hiddenSize();
        int kv = c.kvDim();
        int hidden = c.intermediateSize();
        float[] embedding = take(in, (long) c.vocabSize() * dim);
        float[][] attnNorm = takeLayers(in, n, dim);
        float[][] wq = takeLayers(in, n, (long) dim * dim);
        float[][] wk = takeLayers(in, n, (long) kv * dim);
        float[][] wv = takeLayers(in, n, (long) kv * dim);
        float[][] wo = takeLayers(in, n, (long) dim * dim);
        float[][] ffnNorm = takeLayers(in, n, dim);
        float[][] w1 = takeLayers(in, n, (long) hidden * dim);
        float[][] w2 = takeLayers(in, n, (long) dim * hidden);
        float[][] w3 = takeLayers(in, n, (long) hidden * dim);
        float[] finalNorm = take(in, dim);
        in.position(in.position() + c.maxPositions() * c.headDim()); // legacy freq_cis_real + freq_cis_imag
        float[] classifier = shared ? embedding : take(in, (long) c.vocabSize() * dim);
        List<DenseParameters.Layer> layers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            layers.add(new DenseParameters.Layer(attnNorm[i], wq[i], wk[i], wv[i], wo[i], ffnNorm[i], w1[i], w3[i], w2[i]));
        }
        return new DenseParameters(c, embedding, layers, finalNorm, classifier);
    }

    /**
     * Writes parameters in llama2.c's layout (freq_cis tables included, as llama2.c readers expect);
     * the classifier is stored only when it is not the embedding. Written to a temp file, then renamed.
     */
    public static void write(DenseParameters p, Path file) {
        ModelConfig c = p.config();
        if (c.ropeStyle() != RopeStyle.INTERLEAVED) {
            throw new CheckpointFormatException("llama2.c files use interleaved RoPE; this model uses " + c.ropeStyle());
        }
        boolean shared = p.classifier() == p.tokenEmbedding();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.hiddenSize()).putInt(c.intermediateSize()).putInt(c.numLayers()).putInt(c.numHeads())
                    .putInt(c.numKvHeads()).putInt(shared ? c.vocabSize() : -c.vocabSize()).putInt(c.maxPositions()).flip();
            out.write(header);
            List<DenseParameters.Layer> l = p.layers();
            put(out, p.tokenEmbedding());
            for (java.util.function.Function<DenseParameters.Layer, float[]> part : List.<java.util.function.Function<DenseParameters.Layer, float[]>>of(
                    DenseParameters.Layer::attentionNorm, DenseParameters.Layer::query, DenseParameters.Layer::key,
                    DenseParameters.Layer::value, DenseParameters.Layer::output, DenseParameters.Layer::ffnNorm,
                    DenseParameters.Layer::gate, DenseParameters.Layer::down, DenseParameters.Layer::up)) {
                for (DenseParameters.Layer layer : l) {
                    put(out, part.apply(layer));
                }
            }
            put(out, p.finalNorm());
            put(out, legacyFrequencies(c));
            if (!shared) {
                put(out, p.classifier());
            }
            out.force(true);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CheckpointFormatException(file + ": cannot write checkpoint: " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the write already failed and that is what the caller hears about
        }
    }

    /** The cos then sin tables [seqLen, headDim/2] that old llama2.c files carry. */
    private static float[] legacyFrequencies(ModelConfig c) {
        int half = c.headDim() / 2;
        int n = c.maxPositions() * half;
        float[] out = new float[2 * n];
        for (int pos = 0; pos < c.maxPositions(); pos++) {
            for (int j = 0; j < half; j++) {
                double angle = pos * Math.pow(c.ropeTheta(), -2.0 * j / c.headDim());
                out[pos * half + j] = (float) Math.cos(angle);
                out[n + pos * half + j] = (float) Math.sin(angle);
            }
        }
        return out;
    }

    private static void put(FileChannel out, float[] data) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : data) {
            if (!buffer.hasRemaining()) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                buffer.clear();
            }
            buffer.putFloat(f);
        }
        buffer.flip();
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static float[][] takeLayers(FloatBuffer in, int layers, long each) {
        float[][] out = new float[layers][];
        for (int i = 0; i < layers; i++) {
            out[i] = take(in, each);
        }
        return out;
    }

    private static float[] take(FloatBuffer in, long count) {
        if (count > Integer.MAX_VALUE - 8) {
            throw new CheckpointFormatException("tensor of " + count + " elements is too large");
        }
        float[] out = new float[(int) count];
        in.get(out);
        return out;
    }
}
