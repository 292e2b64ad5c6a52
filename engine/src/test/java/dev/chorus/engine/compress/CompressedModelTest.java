package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.Projection;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.SafetensorsFile;
import dev.chorus.engine.checkpoint.SafetensorsWriter;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LlamaModel;
import dev.chorus.engine.model.LlamaWeights;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compressed forward and checkpoint format, on arbitrary valid compressed weights of TinyStories-656K's shape. */
class CompressedModelTest {
    static final int[] PROMPT = {1, 80, 388, 489, 1169, 432, 77, 891, 1607, 140};
    static NDManager root;
    static DenseParameters dense;

    @BeforeAll
    static void load() {
        root = NDManager.newBaseManager();
        dense = HfCheckpoint.read(TestModels.tinyStories656k());
    }

    @AfterAll
    static void close() {
        root.close();
    }

    /** Random codes, scales and zero points; pruned entries code to their zero point; about half pruned. */
    static QuantizedMatrix randomQuantized(int rows, int cols, QuantSpec spec, SplittableRandom rnd) {
        int groups = spec.groups(cols);
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = 0.001f + 0.01f * (float) rnd.nextDouble();
            zeros[i] = (byte) rnd.nextInt(spec.maxCode() + 1);
        }
        boolean[] keep = new boolean[rows * cols];
        byte[] codes = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                keep[r * cols + c] = rnd.nextBoolean();
                codes[r * cols + c] = keep[r * cols + c] ? (byte) rnd.nextInt(spec.maxCode() + 1) : zeros[r * groups + c / spec.groupSize()];
            }
        }
        return new QuantizedMatrix(rows, cols, spec, codes, scales, zeros, SparsityMask.of(rows, cols, keep));
    }

    static BinaryCodedMatrix randomBinaryCoded(int rows, int cols, int q, SplittableRandom rnd) {
        float[] alphas = new float[q * rows];
        for (int i = 0; i < alphas.length; i++) {
            alphas[i] = 0.05f / (1 + i / rows) * (float) rnd.nextDouble();
        }
        byte[][] signs = new byte[q][rows * SparsityMask.bytesPerRow(cols)];
        for (byte[] plane : signs) {
            rnd.nextBytes(plane);
            if ((cols & 7) != 0) {
                for (int r = 0; r < rows; r++) {
                    plane[r * SparsityMask.bytesPerRow(cols) + SparsityMask.bytesPerRow(cols) - 1] &= (byte) ((1 << (cols & 7)) - 1);
                }
            }
        }
        boolean[] keep = new boolean[rows * cols];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = rnd.nextBoolean();
        }
        return new BinaryCodedMatrix(rows, cols, q, alphas, signs, SparsityMask.of(rows, cols, keep));
    }

    static CompressedParameters compressed(Function<Projection, CompressedMatrix> make, CompressionManifest manifest) {
        ModelConfig c = dense.config();
        List<CompressedParameters.Block> blocks = new ArrayList<>();
        for (DenseParameters.Layer l : dense.layers()) {
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                linears.put(p, make.apply(p));
            }
            blocks.add(new CompressedParameters.Block(l.attentionNorm(), l.ffnNorm(), linears));
        }
        return new CompressedParameters(c, dense.tokenEmbedding(), dense.classifier(), dense.finalNorm(), blocks, manifest);
    }

    static CompressionManifest manifest(Integer bits, Integer group, Integer bcq) {
        return new CompressionManifest(1, "0.5", 0.5, bits, group, false, "test", false, false, bcq, "sha256:test", "none");
    }

    /** The reference: every linear expanded to float32 first, then the plain dense model. */
    static DenseParameters dequantized(CompressedParameters p) {
        List<DenseParameters.Layer> layers = new ArrayList<>();
        for (CompressedParameters.Block b : p.blocks()) {
            layers.add(b.dequantized());
        }
        return new DenseParameters(p.config(), p.tokenEmbedding(), layers, p.finalNorm(), p.classifier());
    }

    /** Logits of the prompt's tokens (10 rows at once), then of one decode step (1 row), then of three rows together. */
    static float[] logits(LlamaWeights weights) {
        try (LlamaModel model = new LlamaModel(weights); KvCache cache = model.newCache(3, 32); NDManager step = root.newSubManager()) {
            float[] prompt = model.forward(step, cache, new int[] {0}, new int[] {0}, new int[][] {PROMPT}, true).toFloatArray();
            float[] one = model.forward(step, cache, new int[] {0}, new int[] {PROMPT.length}, new int[][] {{5}}, false).toFloatArray();
            float[] three = model.forward(step, cache, new int[] {0, 1, 2}, new int[] {PROMPT.length + 1, 0, 0}, new int[][] {{6}, {7}, {8}}, false)
                    .toFloatArray();
            float[] all = java.util.Arrays.copyOf(prompt, prompt.length + one.length + three.length);
            System.arraycopy(one, 0, all, prompt.length, one.length);
            System.arraycopy(three, 0, all, prompt.length + one.length, three.length);
            return all;
        } finally {
            weights.close();
        }
    }

    static void assertForwardMatchesDequantized(CompressedParameters p) {
        float[] fast = logits(LlamaWeights.upload(p, root));
        float[] reference = logits(LlamaWeights.upload(dequantized(p), root));
        float max = 0;
        for (int i = 0; i < fast.length; i++) {
            max = Math.max(max, Math.abs(fast[i] - reference[i]));
        }
        assertTrue(max <= 1e-5, "compressed forward differs from dequantize-then-dense by " + max);
    }

    @Test
    void int4And8ForwardEqualsDequantizeThenDense() {
        SplittableRandom rnd = new SplittableRandom(1);
        ModelConfig c = dense.config();
        for (QuantSpec spec : List.of(new QuantSpec(4, 128, false), new QuantSpec(8, 32, true), new QuantSpec(4, 64, false))) {
            assertForwardMatchesDequantized(compressed(p -> randomQuantized(p.outFeatures(c), p.inFeatures(c), spec, rnd),
                    manifest(spec.bits(), spec.groupSize(), null)));
        }
    }

    /** A folded QA-LoRA moves zero points off the grid: the forward still matches dequantize-then-dense, the file round-trips. */
    @Test
    void shiftedZeroPointsForwardAndRoundTrip(@TempDir Path dir) {
        SplittableRandom rnd = new SplittableRandom(4);
        ModelConfig c = dense.config();
        QuantSpec spec = new QuantSpec(4, 64, false);
        CompressedParameters p = compressed(proj -> {
            QuantizedMatrix q = randomQuantized(proj.outFeatures(c), proj.inFeatures(c), spec, rnd);
            float[] shift = new float[q.scales().length];
            for (int i = 0; i < shift.length; i++) {
                shift[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            return new QuantizedMatrix(q.rows(), q.cols(), spec, q.codes(), q.scales(), q.zeros(), q.mask(), shift);
        }, manifest(4, 64, null));
        assertForwardMatchesDequantized(p);
        QuantizedMatrix q = (QuantizedMatrix) p.blocks().get(0).linear(Projection.UP);
        float[] w = q.dequantize();
        for (int i = 0; i < w.length; i++) {
            int r = i / q.cols();
            int g = (i % q.cols()) / spec.groupSize();
            if (!q.mask().kept(r, i % q.cols())) {
                assertEquals(-q.scale(r, g) * q.zeroShift()[r * q.spec().groups(q.cols()) + g], w[i], 1e-6f, "a pruned entry carries the folded delta");
            }
        }
        CompressedCheckpoint.write(p, dir, List.of());
        QuantizedMatrix back = (QuantizedMatrix) CompressedCheckpoint.read(dir).blocks().get(0).linear(Projection.UP);
        assertArrayEquals(q.zeroShift(), back.zeroShift());
        assertArrayEquals(q.zeros(), back.zeros());
    }

    @Test
    void binaryCodedForwardEqualsDequantizeThenDense() {
        SplittableRandom rnd = new SplittableRandom(2);
        ModelConfig c = dense.config();
        assertForwardMatchesDequantized(compressed(p -> randomBinaryCoded(p.outFeatures(c), p.inFeatures(c), 3, rnd), manifest(null, null, 3)));
    }

    @Test
    void checkpointRoundTripsExactlyAndLoadsWithoutTheSource(@TempDir Path dir) {
        SplittableRandom rnd = new SplittableRandom(3);
        ModelConfig c = dense.config();
        QuantSpec spec = new QuantSpec(4, 128, false);
        CompressedParameters p = compressed(proj -> randomQuantized(proj.outFeatures(c), proj.inFeatures(c), spec, rnd), manifest(4, 128, null));
        CompressedCheckpoint.write(p, dir, List.of(TestModels.tinyStories656k().resolve("tokenizer.json")));
        CompressedParameters back = CompressedCheckpoint.read(dir);
        assertEquals(p.manifest().current(), back.manifest(), "written in the current format");
        assertEquals(c, back.config());
        for (int i = 0; i < p.blocks().size(); i++) {
            for (Projection proj : Projection.values()) {
                QuantizedMatrix a = (QuantizedMatrix) p.blocks().get(i).linear(proj);
                QuantizedMatrix b = (QuantizedMatrix) back.blocks().get(i).linear(proj);
                assertArrayEquals(a.codes(), b.codes(), proj + " codes");
                assertArrayEquals(a.scales(), b.scales(), proj + " scales");
                assertArrayEquals(a.zeros(), b.zeros(), proj + " zeros");
                assertEquals(a.mask(), b.mask(), proj + " mask");
            }
        }
        assertArrayEquals(logits(LlamaWeights.upload(p, root)), logits(LlamaWeights.upload(back, root)));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
    }

    @Test
    void halfSparseInt4G128KeepsLinearsWithinTwelveHundredthsOfFp32() {
        SplittableRandom rnd = new SplittableRandom(4);
        ModelConfig c = dense.config();
        QuantSpec spec = new QuantSpec(4, 128, false);
        CompressedParameters p = compressed(proj -> randomQuantized(proj.outFeatures(c), proj.inFeatures(c), spec, rnd), manifest(4, 128, null));
        try (LlamaWeights w = LlamaWeights.upload(p, root)) {
            double ratio = (double) w.linearBytesResident() / p.linearBytesFp32();
            assertEquals(p.linearBytes(), w.linearBytesResident(), "host and device accounting agree");
            assertTrue(ratio <= 0.12, "resident/fp32 = " + ratio);
        }
    }

    /** A format-1 checkpoint (every INT4 code stored, two per byte) still loads, to the same codes as format 2. */
    @Test
    void formatOneCheckpointsStillLoad(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(6);
        ModelConfig c = dense.config();
        QuantSpec spec = new QuantSpec(4, 32, false);
        CompressedParameters p = compressed(proj -> randomQuantized(proj.outFeatures(c), proj.inFeatures(c), spec, rnd), manifest(4, 32, null));
        Path current = dir.resolve("v2");
        CompressedCheckpoint.write(p, current, List.of());
        assertTrue(Files.readString(current.resolve(CompressedCheckpoint.MANIFEST)).contains("\"format_version\" : 2"));
        Path old = dir.resolve("v1");
        Files.createDirectories(old);
        for (Path f : Files.list(current).toList()) {
            Files.copy(f, old.resolve(f.getFileName()));
        }
        Files.writeString(old.resolve(CompressedCheckpoint.MANIFEST),
                Files.readString(current.resolve(CompressedCheckpoint.MANIFEST)).replace("\"format_version\" : 2", "\"format_version\" : 1"));
        SafetensorsWriter v1 = new SafetensorsWriter(); // the format-1 writer's tensors: qweight [out, ceil(in/2)], low nibble first
        try (SafetensorsFile in = SafetensorsFile.open(current.resolve("model.safetensors"))) {
            for (String name : in.names()) {
                ByteBuffer b = in.bytes(name);
                byte[] data = new byte[b.remaining()];
                b.get(data);
                if (!name.endsWith(".qweight_kept")) {
                    v1.add(name, in.info(name).dtype(), in.info(name).shape(), data);
                }
            }
        }
        for (int i = 0; i < p.blocks().size(); i++) {
            for (Projection proj : Projection.values()) {
                QuantizedMatrix q = (QuantizedMatrix) p.blocks().get(i).linear(proj);
                byte[] packed = new byte[q.rows() * ((q.cols() + 1) / 2)];
                for (int r = 0; r < q.rows(); r++) {
                    for (int col = 0; col < q.cols(); col++) {
                        packed[r * ((q.cols() + 1) / 2) + col / 2] |= (byte) (q.code(r, col) << (col % 2 == 0 ? 0 : 4));
                    }
                }
                String group = proj.ordinal() < Projection.GATE.ordinal() ? "self_attn." : "mlp.";
                v1.add("model.layers." + i + "." + group + proj.moduleName() + ".qweight", dev.chorus.engine.checkpoint.TensorDtype.U8,
                        new long[] {q.rows(), (q.cols() + 1) / 2}, packed);
            }
        }
        Files.delete(old.resolve("model.safetensors"));
        v1.write(old.resolve("model.safetensors"));
        assertTrue(Files.size(old.resolve("model.safetensors")) > Files.size(current.resolve("model.safetensors")), "format 2 stores fewer codes");

        for (Path checkpoint : List.of(old, current)) {
            CompressedParameters read = CompressedCheckpoint.read(checkpoint);
            for (int i = 0; i < p.blocks().size(); i++) {
                for (Projection proj : Projection.values()) {
                    QuantizedMatrix want = (QuantizedMatrix) p.blocks().get(i).linear(proj);
                    QuantizedMatrix got = (QuantizedMatrix) read.blocks().get(i).linear(proj);
                    assertArrayEquals(want.codes(), got.codes(), checkpoint.getFileName() + " " + proj);
                    assertEquals(want.mask(), got.mask());
                }
            }
        }
        // Rewriting an old checkpoint writes the current format.
        CompressedCheckpoint.write(CompressedCheckpoint.read(old), dir.resolve("again"), List.of());
        assertTrue(Files.readString(dir.resolve("again").resolve(CompressedCheckpoint.MANIFEST)).contains("\"format_version\" : 2"));
        Path future = copyWith(current, dir.resolve("future"), null, null);
        Files.writeString(future.resolve(CompressedCheckpoint.MANIFEST),
                Files.readString(future.resolve(CompressedCheckpoint.MANIFEST)).replace("\"format_version\" : 2", "\"format_version\" : 3"));
        assertRejected(future, "unsupported format_version 3");
    }

    @Test
    void corruptOrInconsistentCheckpointsAreRejected(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        ModelConfig c = dense.config();
        QuantSpec spec = new QuantSpec(8, 32, false);
        CompressedParameters p = compressed(proj -> randomQuantized(proj.outFeatures(c), proj.inFeatures(c), spec, rnd), manifest(8, 32, null));
        Path good = dir.resolve("good");
        CompressedCheckpoint.write(p, good, List.of());
        String q = "model.layers.0.self_attn.q_proj.";

        QuantSpec int4 = new QuantSpec(4, 32, false);
        Path good4 = dir.resolve("good4");
        CompressedCheckpoint.write(compressed(proj -> randomQuantized(proj.outFeatures(c), proj.inFeatures(c), int4, rnd), manifest(4, 32, null)),
                good4, List.of());
        assertRejected(copyWith(good4, dir.resolve("a"), q + "qzeros", bytes -> bytes[0] = (byte) 200), "zero point 200 exceeds 15");
        // Kept INT4 codes: a group with an odd count leaves its last high nibble unused; it must be zero.
        assertRejected(copyWith(good4, dir.resolve("a2"), q + "qweight_kept", bytes -> {
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] |= (byte) 0xF0;
            }
        }), "unused high nibble is not zero");
        // A pruned entry whose code is not the zero point would not dequantize to 0.
        QuantizedMatrix q0 = (QuantizedMatrix) p.blocks().get(0).linear(Projection.Q);
        int pruned = 0;
        while (q0.mask().kept(0, pruned)) {
            pruned++;
        }
        final int col = pruned;
        assertRejected(copyWith(good, dir.resolve("b"), q + "qweight", bytes -> bytes[col] = (byte) (q0.zero(0, col / 32) + 1)),
                "does not code to its zero point");
        assertRejected(copyWith(good, dir.resolve("c"), q + "scales", bytes -> ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putFloat(0, -1f)), "scales must be finite and > 0");
        Path manifestBad = copyWith(good, dir.resolve("d"), null, null);
        Files.writeString(manifestBad.resolve(CompressedCheckpoint.MANIFEST),
                Files.readString(manifestBad.resolve(CompressedCheckpoint.MANIFEST)).replace("\"bits\" : 8", "\"bits\" : 3"));
        assertRejected(manifestBad, "bits must be 4 or 8");
        Path garbage = copyWith(good, dir.resolve("e"), null, null);
        Files.writeString(garbage.resolve(CompressedCheckpoint.MANIFEST), "{not json");
        assertRejected(garbage, "not a valid compression manifest");
        Path truncated = copyWith(good, dir.resolve("f"), null, null);
        byte[] all = Files.readAllBytes(truncated.resolve("model.safetensors"));
        Files.write(truncated.resolve("model.safetensors"), java.util.Arrays.copyOf(all, all.length / 2));
        assertThrows(CheckpointFormatException.class, () -> CompressedCheckpoint.read(truncated));
    }

    private static void assertRejected(Path dir, String message) {
        var e = assertThrows(CheckpointFormatException.class, () -> CompressedCheckpoint.read(dir));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    /** Copies a checkpoint directory, optionally rewriting one U8/F32 tensor's bytes. */
    private static Path copyWith(Path from, Path to, String tensor, java.util.function.Consumer<byte[]> edit) throws Exception {
        Files.createDirectories(to);
        for (Path f : Files.list(from).toList()) {
            Files.copy(f, to.resolve(f.getFileName()));
        }
        if (tensor == null) {
            return to;
        }
        SafetensorsWriter out = new SafetensorsWriter();
        try (SafetensorsFile in = SafetensorsFile.open(from.resolve("model.safetensors"))) {
            for (String name : in.names()) {
                ByteBuffer b = in.bytes(name);
                byte[] data = new byte[b.remaining()];
                b.get(data);
                if (name.equals(tensor)) {
                    edit.accept(data);
                }
                out.add(name, in.info(name).dtype(), in.info(name).shape(), data);
            }
        }
        Files.delete(to.resolve("model.safetensors"));
        out.write(to.resolve("model.safetensors"));
        return to;
    }
}
