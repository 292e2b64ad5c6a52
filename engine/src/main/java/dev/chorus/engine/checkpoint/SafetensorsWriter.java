package dev.chorus.engine.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a safetensors file in memory and writes it atomically.
 *
 * <p>Output is deterministic: tensors appear in insertion order, packed back to back from offset 0,
 * "__metadata__" (if any) comes first with keys in insertion order, and the JSON header is padded with
 * spaces so the data area starts at a multiple of 8 bytes (keeps mapped F32/I64 data aligned).
 * Not thread-safe.
 */
public final class SafetensorsWriter {

    private record Entry(String name, TensorDtype dtype, long[] shape, byte[] data) {
    }

    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter() {
    }

    /**
     * Adds a tensor whose data is already little-endian. The arrays are copied, so the caller may reuse
     * them. Rejects duplicate names, negative dimensions and a data length that is not product(shape) x size.
     */
    public SafetensorsWriter add(String name, TensorDtype dtype, long[] shape, byte[] littleEndianData) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(littleEndianData, "littleEndianData");
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("\"__metadata__\" is reserved and cannot be a tensor name");
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name " + name);
        }
        long expected = expectedBytes(name, dtype, shape);
        if (littleEndianData.length != expected) {
            throw new IllegalArgumentException("tensor " + name + ": data has " + littleEndianData.length
                    + " bytes but shape " + Arrays.toString(shape) + " x " + dtype + " needs " + expected);
        }
        tensors.put(name, new Entry(name, dtype, shape.clone(), littleEndianData.clone()));
        return this;
    }

    /** Adds an F32 tensor. */
    public SafetensorsWriter addFloats(String name, long[] shape, float[] data) {
        Objects.requireNonNull(data, "data");
        if ((long) data.length * Float.BYTES > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + name + " is too large for one byte[] ("
                    + data.length + " floats)");
        }
        ByteBuffer bytes = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(data);
        return add(name, TensorDtype.F32, shape, bytes.array());
    }

    /** Sets a "__metadata__" entry; a repeated key keeps its first position and takes the new value. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Writes the file: to a temp file in the target's directory, fsynced, then renamed over {@code target}
     * so readers never see a half-written checkpoint. Falls back to a plain replacing move where the file
     * system cannot rename atomically.
     */
    public void write(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        byte[] header = headerBytes();
        Path temp = Files.createTempFile(dir, "." + absolute.getFileName() + ".", ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                for (Entry entry : tensors.values()) {
                    writeFully(out, ByteBuffer.wrap(entry.data()));
                }
                out.force(true);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        syncDirectory(dir);
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. Package-private for tests. */
    byte[] headerBytes() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry entry : tensors.values()) {
            ObjectNode node = root.putObject(entry.name());
            node.put("dtype", entry.dtype().code());
            ArrayNode shape = node.putArray("shape");
            for (long dim : entry.shape()) {
                shape.add(dim);
            }
            long end = offset + entry.data().length;
            node.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) & ~7;
        if (padded > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new IllegalStateException("header of " + padded + " bytes exceeds the "
                    + SafetensorsFile.MAX_HEADER_BYTES + "-byte limit readers enforce");
        }
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static long expectedBytes(String name, TensorDtype dtype, long[] shape) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor " + name + ": negative dimension in shape " + Arrays.toString(shape));
            }
        }
        try {
            for (long dim : shape) {
                count = Math.multiplyExact(count, dim);
            }
            return Math.multiplyExact(count, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor " + name + ": byte size of shape "
                    + Arrays.toString(shape) + " x " + dtype + " overflows a long");
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** Makes the rename itself durable. Some platforms cannot open directories; the rename still happened there. */
    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Best effort only (e.g. Windows refuses to open a directory).
        }
    }

    /** Names in insertion order, for callers that assemble a checkpoint incrementally. */
    public List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }
}
