package dev.chorus.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    // ---- happy paths -------------------------------------------------------------------------

    @Test
    void roundTripsF32FromTheWriter() throws IOException {
        Path file = dir.resolve("rt.safetensors");
        new SafetensorsWriter()
                .addFloats("b", new long[] {2, 3}, new float[] {1f, -2f, 0.5f, 3.25f, Float.MIN_VALUE, -0f})
                .addFloats("a", new long[] {1}, new float[] {42f})
                .metadata("format", "pt")
                .write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("b", "a"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            TensorInfo b = st.info("b");
            assertEquals(TensorDtype.F32, b.dtype());
            assertArrayEquals(new long[] {2, 3}, b.shape());
            assertEquals(0, b.begin());
            assertEquals(24, b.end());
            assertEquals(6, b.elementCount());
            assertEquals(new TensorInfo("a", TensorDtype.F32, new long[] {1}, 24, 28), st.info("a"));
            assertArrayEquals(new float[] {1f, -2f, 0.5f, 3.25f, Float.MIN_VALUE, -0f}, st.readFloats("b"));
            assertArrayEquals(new float[] {42f}, st.readFloats("a"));
        }
    }

    @Test
    void bytesIsAnExactReadOnlyLittleEndianSlice() throws IOException {
        Path file = withHeader("{\"x\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                new byte[] {9, 9, 9, 9, 1, 0, 0, 0, (byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 7});
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            ByteBuffer bytes = st.bytes("x");
            assertTrue(bytes.isReadOnly());
            assertEquals(ByteOrder.LITTLE_ENDIAN, bytes.order());
            assertEquals(0, bytes.position());
            assertEquals(8, bytes.remaining());
            assertEquals(1, bytes.getInt(0));
            assertEquals(-2, bytes.getInt(4));
            assertThrows(ReadOnlyBufferException.class, () -> bytes.put(0, (byte) 1));
            // A second call must not be disturbed by the first caller moving its position.
            bytes.position(8);
            assertEquals(0, st.bytes("x").position());
            assertEquals(ByteOrder.LITTLE_ENDIAN, st.bytes("x").order());
        }
    }

    @Test
    void decodesF16Exactly() throws IOException {
        short[] halves = {0x3C00, (short) 0xC000, 0x3800, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00,
                (short) 0xFC00, (short) 0x8000, 0x3555, 0x7E00};
        float[] expected = {1f, -2f, 0.5f, 65504f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, -0f, 0.333251953125f, Float.NaN};
        float[] actual = readHalfTensor("F16", halves);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
                    "half 0x" + Integer.toHexString(halves[i] & 0xFFFF) + " -> " + actual[i]);
        }
        assertEquals(0x80000000, Float.floatToRawIntBits(actual[9]), "negative zero keeps its sign");
    }

    @Test
    void halfConversionMatchesTheDefinitionForAllBitPatterns() {
        for (int h = 0; h < 0x10000; h++) {
            int sign = h >>> 15;
            int exponent = (h >>> 10) & 0x1F;
            int mantissa = h & 0x3FF;
            float actual = SafetensorsFile.halfToFloat((short) h);
            if (exponent == 0x1F) {
                assertEquals(mantissa != 0, Float.isNaN(actual), "0x" + Integer.toHexString(h));
                if (mantissa == 0) {
                    assertEquals(sign == 1 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY, actual);
                }
                continue;
            }
            double magnitude = exponent == 0
                    ? Math.scalb((double) mantissa, -24)
                    : Math.scalb(1.0 + mantissa / 1024.0, exponent - 15);
            double value = sign == 1 ? -magnitude : magnitude;
            assertEquals(Float.floatToRawIntBits((float) value), Float.floatToRawIntBits(actual),
                    "0x" + Integer.toHexString(h));
        }
    }

    @Test
    void decodesBf16Exactly() throws IOException {
        // 65504 is not representable in bfloat16; 0x477F (65280) is the largest bf16 value below it.
        short[] halves = {0x3F80, (short) 0xC000, 0x3F00, 0x477F, 0x0001, 0x7F80, (short) 0xFF80, 0x7F7F,
                (short) 0x8000, 0x7FC0};
        float[] expected = {1f, -2f, 0.5f, 65280f, 0x1p-133f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                0x1.FEp127f, -0f, Float.NaN};
        float[] actual = readHalfTensor("BF16", halves);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
                    "bf16 0x" + Integer.toHexString(halves[i] & 0xFFFF) + " -> " + actual[i]);
        }
    }

    @Test
    void readsTheRealTinyStoriesCheckpoint() {
        Path shared = Path.of(System.getProperty("test.shared.dir", "../shared"));
        Path model = shared.resolve("models/TinyStories-656K/model.safetensors");
        try (SafetensorsFile st = SafetensorsFile.open(model)) {
            assertEquals(20, st.names().size());
            assertTrue(st.contains("lm_head.weight"));
            assertFalse(st.contains("model.embed_tokens.weight"));
            assertEquals("pt", st.metadata().get("format"));
            TensorInfo head = st.info("lm_head.weight");
            assertEquals(TensorDtype.F32, head.dtype());
            assertArrayEquals(new long[] {2048, 128}, head.shape());
            assertEquals(2048L * 128 * 4, head.byteSize());
            float[] weights = st.readFloats("lm_head.weight");
            assertEquals(2048 * 128, weights.length);
            // Reference values read independently with Python's struct module.
            assertEquals(-0.68359375f, weights[0]);
            assertEquals(-0.02587890625f, weights[1]);
            assertEquals(0.58984375f, weights[2]);
            assertEquals(-0.1689453125f, weights[3]);
            float[] norm = st.readFloats("model.norm.weight");
            assertEquals(128, norm.length);
            assertEquals(0.640625f, norm[0]);
            assertEquals(0.69921875f, norm[1]);
            CheckpointFormatException missing = assertThrows(CheckpointFormatException.class,
                    () -> st.info("model.embed_tokens.weight"));
            assertEquals("tensor model.embed_tokens.weight not found in " + model, missing.getMessage());
        }
    }

    @Test
    void allowsGapsTrailingBytesPaddingAndEmptyTensors() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[1,1]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[5,6]}}      ";
        Path file = withHeader(json, new byte[] {1, 2, 0, 0, 0, 3, 0, 0});
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "e", "b"), List.copyOf(st.names()));
            assertEquals(3, st.bytes("b").get(0));
            assertEquals(1, st.info("b").elementCount());
            assertEquals(0, st.bytes("e").remaining());
            assertArrayEquals(new float[0], st.readFloats("e"));
            assertTrue(st.metadata().isEmpty());
        }
    }

    @Test
    void readFloatsRejectsNonFloatDtypes() throws IOException {
        Path file = withHeader("{\"x\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> st.readFloats("x"));
            assertTrue(e.getMessage().contains("has dtype I32"), e.getMessage());
        }
    }

    @Test
    void refusesToMapATensorLargerThan2GiB() throws IOException {
        long size = 1L << 31;
        Path file = sparse("{\"big\":{\"dtype\":\"U8\",\"shape\":[" + size + "],\"data_offsets\":[0," + size + "]}}", size);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(size, st.info("big").byteSize());
            assertMessage(assertThrows(CheckpointFormatException.class, () -> st.bytes("big")), "too large");
        }
    }

    @Test
    void refusesToReadMoreFloatsThanAnArrayHolds() throws IOException {
        long count = Integer.MAX_VALUE - 7L;
        Path file = sparse("{\"big\":{\"dtype\":\"F32\",\"shape\":[" + count + "],\"data_offsets\":[0," + count * 4 + "]}}",
                count * 4);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertMessage(assertThrows(CheckpointFormatException.class, () -> st.readFloats("big")),
                    "too large for a float[]");
        }
    }

    @Test
    void closedFileKeepsAlreadyMappedBuffersButRefusesNewMappings() throws IOException {
        Path file = dir.resolve("c.safetensors");
        new SafetensorsWriter().addFloats("a", new long[] {1}, new float[] {7f})
                .addFloats("b", new long[] {1}, new float[] {8f}).write(file);
        SafetensorsFile st = SafetensorsFile.open(file);
        ByteBuffer a = st.bytes("a");
        st.close();
        assertEquals(7f, a.getFloat(0));
        assertThrows(IllegalStateException.class, () -> st.bytes("b"));
    }

    // ---- malformed files: one test per class of problem ---------------------------------------

    @Test
    void missingFile() {
        expectBad(dir.resolve("nope.safetensors"), "cannot open");
    }

    @Test
    void fileShorterThan8Bytes() throws IOException {
        expectBad(Files.write(dir.resolve("short"), new byte[] {1, 0, 0}), "shorter than 8 bytes");
    }

    @Test
    void headerLengthZero() throws IOException {
        expectBad(raw(0, new byte[16]), "header length is 0");
    }

    @Test
    void headerLengthBeyondFileSize() throws IOException {
        expectBad(raw(100, "{}".getBytes(StandardCharsets.UTF_8)), "header length 100 exceeds the file size");
    }

    @Test
    void headerLengthAbove100MiBEvenIfTheFileIsThatLarge() throws IOException {
        Path file = dir.resolve("huge-header");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(200L << 20); // sparse: costs no disk space
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 150L << 20).array());
        }
        expectBad(file, "header length 157286400 exceeds the limit");
    }

    @Test
    void headerLength2Pow62FailsFast() throws IOException {
        Path file = raw(1L << 62, "{}".getBytes(StandardCharsets.UTF_8));
        assertTimeout(Duration.ofSeconds(5), () -> expectBad(file, "header length 4611686018427387904 exceeds"));
    }

    @Test
    void headerLengthAllOnesFailsFast() throws IOException {
        Path file = raw(0xFFFFFFFFFFFFFFFFL, "{}".getBytes(StandardCharsets.UTF_8));
        assertTimeout(Duration.ofSeconds(5), () -> expectBad(file, "header length 18446744073709551615 exceeds"));
    }

    @Test
    void headerNotUtf8() throws IOException {
        byte[] json = "{\"a?\":{}}".getBytes(StandardCharsets.US_ASCII);
        json[3] = (byte) 0xFF;
        expectBad(raw(json.length, json), "not valid UTF-8");
    }

    @Test
    void headerNotJson() throws IOException {
        expectBad(withHeader("{\"a\": ", new byte[0]), "not valid JSON");
    }

    @Test
    void headerWithTrailingGarbage() throws IOException {
        expectBad(withHeader("{} x", new byte[0]), "not valid JSON");
    }

    @Test
    void headerWithDuplicateNames() throws IOException {
        String entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
        expectBad(withHeader("{\"a\":" + entry + ",\"a\":" + entry + "}", new byte[1]), "Duplicate field 'a'");
    }

    @Test
    void headerNotAnObject() throws IOException {
        expectBad(withHeader("[1, 2]", new byte[0]), "header is not a JSON object");
    }

    @Test
    void entryNotAnObject() throws IOException {
        expectBad(withHeader("{\"t\": 5}", new byte[0]), "tensor \"t\" entry must be a JSON object");
    }

    @Test
    void missingDtype() throws IOException {
        expectBad(entry("\"shape\":[1],\"data_offsets\":[0,1]", 1), "missing or non-string dtype");
    }

    @Test
    void nonStringDtype() throws IOException {
        expectBad(entry("\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]", 4), "missing or non-string dtype");
    }

    @Test
    void unknownDtype() throws IOException {
        expectBad(entry("\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]", 1), "unknown dtype \"F8_E4M3\"");
    }

    @Test
    void missingShape() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"data_offsets\":[0,1]", 1), "missing or non-array shape");
    }

    @Test
    void nonIntegerShapeElement() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]", 1), "shape[0] must be an integer");
    }

    @Test
    void missingDataOffsets() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[1]", 1), "missing or non-array data_offsets");
    }

    @Test
    void dataOffsetsWithWrongArity() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]", 2), "exactly 2 entries");
    }

    @Test
    void dataOffsetBeyondLongRange() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]", 1),
                "data_offsets[1] must be an integer that fits in a long");
    }

    @Test
    void negativeDimension() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,1]", 1), "negative dimension -1");
    }

    @Test
    void elementCountOverflow() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]", 1),
                "element count overflows");
    }

    @Test
    void byteCountOverflowAfterDtypeSize() throws IOException {
        // 2^62 elements fit in a long, 2^62 * 4 bytes do not.
        expectBad(entry("\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,1]", 1),
                "element count overflows");
    }

    @Test
    void beginAfterEnd() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]", 8), "begin 8 > end 4");
    }

    @Test
    void endOutsideTheDataArea() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]", 7), "outside the data area of 7 bytes");
    }

    @Test
    void negativeBeginOutsideTheDataArea() throws IOException {
        expectBad(entry("\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-1,1]", 4), "outside the data area");
    }

    @Test
    void byteSizeMismatch() throws IOException {
        expectBad(entry("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]", 16),
                "byte size 12 does not match shape [2, 2] x F32 = 16 bytes");
    }

    @Test
    void overlappingTensors() throws IOException {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]}}";
        expectBad(withHeader(json, new byte[8]), "tensors \"a\" [4, 8) and \"c\" [6, 8) overlap");
    }

    @Test
    void metadataNotAnObject() throws IOException {
        expectBad(withHeader("{\"__metadata__\":[\"x\"]}", new byte[0]), "__metadata__ must be an object");
    }

    @Test
    void metadataValueNotAString() throws IOException {
        expectBad(withHeader("{\"__metadata__\":{\"ok\":\"1\",\"n\":2}}", new byte[0]),
                "__metadata__ value for key \"n\" must be a string");
    }

    @Test
    void dtypeCodesRoundTripAndUnknownCodesAreNamed() {
        for (TensorDtype dtype : TensorDtype.values()) {
            assertEquals(dtype, TensorDtype.fromCode(dtype.code()));
        }
        assertEquals(2, TensorDtype.BF16.byteSize());
        assertEquals(8, TensorDtype.I64.byteSize());
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> TensorDtype.fromCode("f32"));
        assertEquals("unknown dtype \"f32\"", e.getMessage());
    }

    // ---- helpers ------------------------------------------------------------------------------

    private float[] readHalfTensor(String dtype, short[] values) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) {
            data.putShort(v);
        }
        Path file = withHeader("{\"h\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + values.length
                + "],\"data_offsets\":[0," + values.length * 2 + "]}}", data.array());
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            return st.readFloats("h");
        }
    }

    private Path entry(String fields, int dataBytes) throws IOException {
        return withHeader("{\"t\":{" + fields + "}}", new byte[dataBytes]);
    }

    private Path withHeader(String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        byte[] all = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(data).array();
        return Files.write(Files.createTempFile(dir, "t", ".safetensors"), all);
    }

    private Path raw(long declaredHeaderLength, byte[] rest) throws IOException {
        byte[] all = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(declaredHeaderLength).put(rest).array();
        return Files.write(Files.createTempFile(dir, "r", ".safetensors"), all);
    }

    /** A valid header followed by a sparse (unallocated) data area of dataSize bytes. */
    private Path sparse(String json, long dataSize) throws IOException {
        Path file = withHeader(json, new byte[0]);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() + dataSize);
        }
        return file;
    }

    private static void expectBad(Path file, String phrase) {
        assertMessage(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file).close()), phrase);
        String message = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file)).getMessage();
        assertTrue(message.contains(file.toString()), "message should name the file: " + message);
    }

    private static void assertMessage(CheckpointFormatException e, String phrase) {
        assertTrue(e.getMessage().contains(phrase), "expected \"" + phrase + "\" in: " + e.getMessage());
    }
}
