package dev.chorus.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.llama.DenseParameters;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;
import dev.chorus.engine.synth.SyntheticCheckpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c .bin files: exact layout, round trips, determinism, and malformed headers/sizes. */
class Llama2cCheckpointTest {
    // dim 16, hidden 40, 4 heads (headDim 4), 2 kv heads, 2 layers, vocab 32, seq 24.
    static final ModelConfig SHARED = config(16, 40, 4, 2, 2, 32, 24, true);
    static final ModelConfig SEPARATE = config(16, 40, 4, 2, 2, 32, 24, false);

    @TempDir
    Path dir;

    static ModelConfig config(int dim, int hidden, int heads, int kvHeads, int layers, int vocab, int seq, boolean tied) {
        return new ModelConfig(dim, hidden, heads, kvHeads, layers, vocab, seq, 1e-5f, 10000f, tied, 1, 2, RopeStyle.INTERLEAVED);
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void syntheticSharedClassifierRoundTripsWithExactLayout() throws IOException {
        DenseParameters p = SyntheticCheckpoint.generate(SHARED, 7);
        assertSame(p.tokenEmbedding(), p.classifier());
        Path file = dir.resolve("shared.bin");
        Llama2cCheckpoint.write(p, file);

        assertLayout(p, Files.readAllBytes(file), 32);
        DenseParameters r = Llama2cCheckpoint.read(file);
        assertEquals(SHARED, r.config());
        assertSame(r.tokenEmbedding(), r.classifier(), "a shared classifier must be read back as the same array");
        assertSameWeights(p, r);
        assertFalse(Files.exists(dir.resolve("shared.bin.tmp")));
    }

    @Test
    void separateClassifierRoundTripsWithNegativeVocabInHeader() throws IOException {
        DenseParameters base = SyntheticCheckpoint.generate(SHARED, 7);
        float[] classifier = SyntheticCheckpoint.generate(SHARED, 8).tokenEmbedding();
        DenseParameters p = new DenseParameters(SEPARATE, base.tokenEmbedding(), base.layers(), base.finalNorm(), classifier);
        Path file = dir.resolve("separate.bin");
        Llama2cCheckpoint.write(p, file);

        byte[] bytes = Files.readAllBytes(file);
        assertLayout(p, bytes, -32);
        DenseParameters r = Llama2cCheckpoint.read(file);
        assertEquals(SEPARATE, r.config());
        assertNotSame(r.tokenEmbedding(), r.classifier());
        assertArrayEquals(classifier, r.classifier());
        assertFalse(Arrays.equals(r.tokenEmbedding(), r.classifier()));
        assertSameWeights(p, r);
    }

    @Test
    void sameSeedGivesIdenticalBytesAndDifferentSeedDoesNot() throws IOException {
        Path a = dir.resolve("a.bin");
        Path b = dir.resolve("b.bin");
        Path c = dir.resolve("c.bin");
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(SHARED, 42), a);
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(SHARED, 42), b);
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(SHARED, 43), c);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        byte[] other = Files.readAllBytes(c);
        assertEquals(Files.size(a), other.length);
        assertFalse(Arrays.equals(Files.readAllBytes(a), other));
    }

    @Test
    void stories260kHeaderAndRewrite() throws IOException {
        Path original = TestModels.stories260k();
        ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(original), 0, 28).order(ByteOrder.LITTLE_ENDIAN);
        int[] fields = new int[7];
        for (int i = 0; i < 7; i++) {
            fields[i] = header.getInt();
        }
        assertArrayEquals(new int[] {64, 172, 5, 8, 4, 512, 512}, fields);

        DenseParameters p = Llama2cCheckpoint.read(original);
        ModelConfig c = p.config();
        assertEquals(config(64, 172, 8, 4, 5, 512, 512, true), c);
        assertEquals(8, c.headDim());
        assertEquals(32, c.kvDim());
        assertSame(p.tokenEmbedding(), p.classifier());

        // Writing it back reproduces the file's weights bit for bit (its freq_cis tables only approximately).
        Path copy = dir.resolve("copy.bin");
        Llama2cCheckpoint.write(p, copy);
        assertLayout(p, Files.readAllBytes(copy), 512);
        byte[] a = Files.readAllBytes(original);
        byte[] b = Files.readAllBytes(copy);
        assertEquals(a.length, b.length);
        int freqStart = 28 + 4 * (int) (floats(c, true) - (long) c.maxPositions() * c.headDim());
        int freqEnd = freqStart + 4 * c.maxPositions() * c.headDim();
        assertArrayEquals(Arrays.copyOfRange(a, 0, freqStart), Arrays.copyOfRange(b, 0, freqStart));
        assertArrayEquals(Arrays.copyOfRange(a, freqEnd, a.length), Arrays.copyOfRange(b, freqEnd, b.length));
    }

    /** float32 values after the header, computed independently of the main code. */
    private static long floats(ModelConfig c, boolean shared) {
        long dim = c.hiddenSize();
        long kv = c.kvDim();
        long perLayer = 2 * dim + 2 * dim * dim + 2 * kv * dim + 3L * c.intermediateSize() * dim;
        long total = (long) c.vocabSize() * dim + c.numLayers() * perLayer + dim + (long) c.maxPositions() * c.headDim();
        return shared ? total : total + (long) c.vocabSize() * dim;
    }

    /** Checks every byte of {@code file} against llama2.c's layout of {@code p}; freq_cis tables to 1e-4. */
    private static void assertLayout(DenseParameters p, byte[] file, int vocabField) {
        ModelConfig c = p.config();
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals(new int[] {c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), vocabField,
                c.maxPositions()}, new int[] {in.getInt(), in.getInt(), in.getInt(), in.getInt(), in.getInt(), in.getInt(), in.getInt()});
        assertEquals(28 + 4 * floats(c, vocabField > 0), file.length);
        List<float[]> order = new ArrayList<>();
        order.add(p.tokenEmbedding());
        List<java.util.function.Function<DenseParameters.Layer, float[]>> parts = List.of(DenseParameters.Layer::attentionNorm,
                DenseParameters.Layer::query, DenseParameters.Layer::key, DenseParameters.Layer::value, DenseParameters.Layer::output,
                DenseParameters.Layer::ffnNorm, DenseParameters.Layer::gate, DenseParameters.Layer::down, DenseParameters.Layer::up);
        for (var part : parts) { // llama2.c: all layers' w1 (gate), then w2 (down), then w3 (up)
            p.layers().forEach(l -> order.add(part.apply(l)));
        }
        order.add(p.finalNorm());
        for (float[] a : order) {
            float[] actual = new float[a.length];
            in.asFloatBuffer().get(actual);
            in.position(in.position() + 4 * a.length);
            assertArrayEquals(a, actual);
        }
        int half = c.headDim() / 2;
        for (int table = 0; table < 2; table++) {
            for (int pos = 0; pos < c.maxPositions(); pos++) {
                for (int j = 0; j < half; j++) {
                    float angle = pos * (1.0f / (float) Math.pow(c.ropeTheta(), 2.0f * j / c.headDim()));
                    float expected = table == 0 ? (float) Math.cos(angle) : (float) Math.sin(angle);
                    assertEquals(expected, in.getFloat(), 1e-4f, "freq_cis table " + table + " pos " + pos + " j " + j);
                }
            }
        }
        if (vocabField < 0) {
            float[] classifier = new float[p.classifier().length];
            in.asFloatBuffer().get(classifier);
            in.position(in.position() + 4 * classifier.length);
            assertArrayEquals(p.classifier(), classifier);
        }
        assertEquals(file.length, in.position());
    }

    private static void assertSameWeights(DenseParameters expected, DenseParameters actual) {
        assertArrayEquals(expected.tokenEmbedding(), actual.tokenEmbedding());
        assertArrayEquals(expected.finalNorm(), actual.finalNorm());
        assertArrayEquals(expected.classifier(), actual.classifier());
        assertEquals(expected.layers().size(), actual.layers().size());
        for (int i = 0; i < expected.layers().size(); i++) {
            DenseParameters.Layer e = expected.layers().get(i);
            DenseParameters.Layer a = actual.layers().get(i);
            assertArrayEquals(e.attentionNorm(), a.attentionNorm());
            assertArrayEquals(e.query(), a.query());
            assertArrayEquals(e.key(), a.key());
            assertArrayEquals(e.value(), a.value());
            assertArrayEquals(e.output(), a.output());
            assertArrayEquals(e.ffnNorm(), a.ffnNorm());
            assertArrayEquals(e.gate(), a.gate());
            assertArrayEquals(e.up(), a.up());
            assertArrayEquals(e.down(), a.down());
        }
    }

    // ---------------------------------------------------------------- malformed files

    private String readError(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        String message = assertThrows(CheckpointFormatException.class, () -> Llama2cCheckpoint.read(file)).getMessage();
        assertTrue(message.startsWith(file + ": "), message);
        return message;
    }

    private static byte[] header(int... fields) {
        ByteBuffer out = ByteBuffer.allocate(4 * fields.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int f : fields) {
            out.putInt(f);
        }
        return out.array();
    }

    private byte[] validFile() throws IOException {
        Path file = dir.resolve("valid.bin");
        Llama2cCheckpoint.write(SyntheticCheckpoint.generate(SHARED, 1), file);
        return Files.readAllBytes(file);
    }

    @Test
    void fileShorterThanHeaderFails() throws IOException {
        String message = readError("short.bin", Arrays.copyOf(header(16, 40, 2, 4, 2, 32, 24), 27));
        assertTrue(message.endsWith("too short for a llama2.c header (27 bytes)"), message);
        String empty = readError("empty.bin", new byte[0]);
        assertTrue(empty.endsWith("too short for a llama2.c header (0 bytes)"), empty);
    }

    @Test
    void truncatedOrOverlongWeightsFailWithBothSizes() throws IOException {
        byte[] valid = validFile();
        long expected = 28 + 4 * floats(SHARED, true);
        assertEquals(expected, valid.length);
        String truncated = readError("truncated.bin", Arrays.copyOf(valid, valid.length - 4));
        assertTrue(truncated.endsWith("size " + (expected - 4) + " bytes does not match the header's shape (expected " + expected
                + " bytes)"), truncated);
        String trailing = readError("trailing.bin", Arrays.copyOf(valid, valid.length + 3));
        assertTrue(trailing.endsWith("size " + (expected + 3) + " bytes does not match the header's shape (expected " + expected
                + " bytes)"), trailing);
        // A shared-classifier file whose header claims a separate classifier is one classifier short.
        byte[] flipped = valid.clone();
        ByteBuffer.wrap(flipped).order(ByteOrder.LITTLE_ENDIAN).putInt(20, -32);
        String missingClassifier = readError("flipped.bin", flipped);
        assertTrue(missingClassifier.contains("(expected " + (expected + 4L * 32 * 16) + " bytes)"), missingClassifier);
    }

    @Test
    void headerWithZeroOrNegativeDimensionsFails() throws IOException {
        String[][] cases = {
                {"hidden_size must be a positive integer, got 0"},
                {"intermediate_size must be a positive integer, got -40"},
                {"num_hidden_layers must be a positive integer, got 0"},
                {"num_attention_heads must be a positive integer, got -4"},
                {"num_key_value_heads must be a positive integer, got 0"},
                {"vocab_size must be a positive integer, got 0"},
                {"max_position_embeddings must be a positive integer, got -1"},
        };
        int[][] headers = {
                {0, 40, 2, 4, 2, 32, 24}, {16, -40, 2, 4, 2, 32, 24}, {16, 40, 0, 4, 2, 32, 24}, {16, 40, 2, -4, 2, 32, 24},
                {16, 40, 2, 4, 0, 32, 24}, {16, 40, 2, 4, 2, 0, 24}, {16, 40, 2, 4, 2, 32, -1},
        };
        for (int i = 0; i < headers.length; i++) {
            String message = readError("dims" + i + ".bin", header(headers[i]));
            assertTrue(message.endsWith(": invalid llama2.c header: " + cases[i][0]), message);
        }
        String minVocab = readError("minvocab.bin", header(16, 40, 2, 4, 2, Integer.MIN_VALUE, 24));
        assertTrue(minVocab.contains("invalid llama2.c header: vocab_size must be a positive integer"), minVocab);
    }

    @Test
    void headerWithIndivisibleHeadsFails() throws IOException {
        String heads = readError("heads.bin", header(16, 40, 2, 3, 3, 32, 24));
        assertTrue(heads.endsWith("invalid llama2.c header: hidden_size 16 is not divisible by num_attention_heads 3"), heads);
        String kv = readError("kv.bin", header(16, 40, 2, 4, 3, 32, 24));
        assertTrue(kv.endsWith("invalid llama2.c header: num_attention_heads 4 is not divisible by num_key_value_heads 3"), kv);
        String odd = readError("odd.bin", header(12, 40, 2, 4, 2, 32, 24));
        assertTrue(odd.endsWith("invalid llama2.c header: head dimension 3 must be even for RoPE"), odd);
    }

    @Test
    void headerWhoseSizeArithmeticOverflowsFails() throws IOException {
        // dim 2^16, 32768 heads (headDim 2), 32768 kv heads, 2^16 layers, hidden 1073654442, vocab 3, seq 1:
        // per layer = 2^16 * (2 + 4 * 2^16 + 3 * hidden) = 3 * 2^46 floats, times 2^16 layers = 3 * 2^62, and
        // 4 * 3 * 2^62 = 3 * 2^64 wraps to 0, so the "expected" size is just the embedding + norm + freq bytes.
        int dim = 1 << 16;
        long tail = 3L * dim + dim + 2; // embedding + final norm + freq tables (seq 1 x headDim 2)
        byte[] bytes = Arrays.copyOf(header(dim, 1073654442, 1 << 16, 1 << 15, 1 << 15, 3, 1), (int) (28 + 4 * tail));
        String message = readError("overflow.bin", bytes);
        assertTrue(message.contains("overflows any possible file size"), message);
    }
}
