package dev.chorus.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {

    @TempDir
    Path dir;

    @Test
    void writesTheExactExpectedBytes() throws IOException {
        Path file = dir.resolve("exact.safetensors");
        new SafetensorsWriter()
                .add("w", TensorDtype.I16, new long[] {2}, new byte[] {1, 0, (byte) 0xFF, (byte) 0xFF})
                .metadata("k", "v")
                .write(file);
        String json = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        int padded = (json.length() + 7) / 8 * 8;
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(padded, in.getLong(0));
        assertEquals(0, padded % 8);
        String header = new String(bytes, 8, padded, StandardCharsets.UTF_8);
        assertEquals(json + " ".repeat(padded - json.length()), header);
        assertArrayEquals(new byte[] {1, 0, (byte) 0xFF, (byte) 0xFF}, Arrays.copyOfRange(bytes, 8 + padded, bytes.length));
    }

    @Test
    void outputIsDeterministicAndRoundTripsEveryDtype() throws IOException {
        Path first = dir.resolve("one.safetensors");
        Path second = dir.resolve("two.safetensors");
        build().write(first);
        build().write(second);
        assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));

        try (SafetensorsFile st = SafetensorsFile.open(first)) {
            assertEquals(List.of("z.weight", "a.bias", "scalar", "empty", "bf", "ids"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt", "note", "ünïcode \"quoted\""), st.metadata());
            assertEquals(List.of("format", "note"), List.copyOf(st.metadata().keySet()));
            assertArrayEquals(new float[] {1.5f, -2.5f, 3f, 0f, -0f, 1e-30f}, st.readFloats("z.weight"));
            assertArrayEquals(new long[] {2, 3}, st.info("z.weight").shape());
            assertArrayEquals(new float[] {7f}, st.readFloats("a.bias"));
            assertArrayEquals(new long[0], st.info("scalar").shape());
            assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY}, st.readFloats("scalar"));
            assertEquals(0, st.info("empty").byteSize());
            assertArrayEquals(new float[] {1f, -2f}, st.readFloats("bf"));
            ByteBuffer ids = st.bytes("ids");
            assertEquals(TensorDtype.I64, st.info("ids").dtype());
            assertEquals(Long.MIN_VALUE, ids.getLong(0));
            assertEquals(42L, ids.getLong(8));
            // Packed back to back from offset 0.
            assertEquals(0, st.info("z.weight").begin());
            assertEquals(24, st.info("a.bias").begin());
            assertEquals(st.info("bf").end(), st.info("ids").begin());
        }
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTempFiles() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Files.writeString(file, "old contents");
        new SafetensorsWriter().addFloats("x", new long[] {1}, new float[] {3f}).write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {3f}, st.readFloats("x"));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void emptyWriterProducesAValidFile() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        new SafetensorsWriter().write(file);
        assertEquals(16, Files.size(file));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertTrue(st.names().isEmpty());
            assertTrue(st.metadata().isEmpty());
        }
    }

    @Test
    void rejectsDataOfTheWrongLength() {
        SafetensorsWriter writer = new SafetensorsWriter();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> writer.add("x", TensorDtype.F16, new long[] {3}, new byte[4]));
        assertEquals("tensor x: data has 4 bytes but shape [3] x F16 needs 6", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> writer.addFloats("y", new long[] {2, 2}, new float[3]));
    }

    @Test
    void rejectsDuplicateReservedAndNegativeShapes() {
        SafetensorsWriter writer = new SafetensorsWriter().addFloats("x", new long[] {1}, new float[1]);
        assertEquals("duplicate tensor name x", assertThrows(IllegalArgumentException.class,
                () -> writer.addFloats("x", new long[] {1}, new float[1])).getMessage());
        assertThrows(IllegalArgumentException.class, () -> writer.addFloats("__metadata__", new long[] {1}, new float[1]));
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> writer.add("n", TensorDtype.U8, new long[] {-1}, new byte[0]));
        assertTrue(negative.getMessage().contains("negative dimension"), negative.getMessage());
        IllegalArgumentException overflow = assertThrows(IllegalArgumentException.class,
                () -> writer.add("o", TensorDtype.F32, new long[] {1L << 62}, new byte[0]));
        assertTrue(overflow.getMessage().contains("overflows"), overflow.getMessage());
        assertEquals(List.of("x"), writer.names());
    }

    @Test
    void copiesCallerArrays() throws IOException {
        byte[] data = {1, 2};
        long[] shape = {2};
        SafetensorsWriter writer = new SafetensorsWriter().add("x", TensorDtype.U8, shape, data);
        data[0] = 9;
        shape[0] = 5;
        Path file = dir.resolve("copy.safetensors");
        writer.write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(new long[] {2}, st.info("x").shape());
            assertEquals(1, st.bytes("x").get(0));
        }
    }

    private static SafetensorsWriter build() {
        ByteBuffer bf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3F80).putShort((short) 0xC000);
        ByteBuffer ids = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MIN_VALUE).putLong(42L);
        return new SafetensorsWriter()
                .metadata("format", "pt")
                .addFloats("z.weight", new long[] {2, 3}, new float[] {1.5f, -2.5f, 3f, 0f, -0f, 1e-30f})
                .addFloats("a.bias", new long[] {1}, new float[] {7f})
                .addFloats("scalar", new long[0], new float[] {Float.NEGATIVE_INFINITY})
                .add("empty", TensorDtype.F32, new long[] {0, 4}, new byte[0])
                .add("bf", TensorDtype.BF16, new long[] {2}, bf.array())
                .add("ids", TensorDtype.I64, new long[] {2}, ids.array())
                .metadata("note", "ünïcode \"quoted\"");
    }
}
