package dev.chorus.engine.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A read-only, memory-mapped view of a safetensors file.
 *
 * <p>{@link #open} validates the whole header against the file size before anything is trusted, so a
 * truncated or hostile file fails with a {@link CheckpointFormatException} naming the file and the
 * problem instead of an OutOfMemoryError or an out-of-bounds read later. Tensor data is mapped lazily,
 * one mapping per tensor, and cached; buffers stay valid after {@link #close()} until garbage collected.
 *
 * <p>{@link #names()} iterates in header order (the order the writer emitted the entries). Instances
 * are safe to share between threads.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Upper bound on the JSON header, matching the reference implementation's limit. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final Map<String, ByteBuffer> mapped = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and fully validates {@code path}; the returned file owns an open channel until closed. */
    public static SafetensorsFile open(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointFormatException("cannot open safetensors file " + path + ": " + e, e);
        }
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw fail(path, "file is shorter than 8 bytes (" + fileSize + " bytes), no header length");
            }
            ByteBuffer lengthBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
            // The u64 is read as a signed long: values >= 2^63 come out negative and are rejected as too large.
            long headerLength = lengthBytes.getLong(0);
            if (headerLength == 0) {
                throw fail(path, "header length is 0");
            }
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw fail(path, "header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > fileSize - 8) {
                throw fail(path, "header length " + headerLength + " exceeds the file size - 8 ("
                        + (fileSize - 8) + " bytes)");
            }
            // Safe to allocate now: headerLength is bounded by both the limit and the real file size.
            ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength);
            long dataStart = 8 + headerLength;
            HeaderParser parser = new HeaderParser(path, fileSize - dataStart);
            parser.parse(decodeUtf8(path, headerBytes));
            return new SafetensorsFile(path, channel, dataStart,
                    Collections.unmodifiableMap(parser.tensors), Collections.unmodifiableMap(parser.metadata));
        } catch (IOException e) {
            closeQuietly(channel);
            throw new CheckpointFormatException("cannot read safetensors file " + path + ": " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order (unmodifiable). */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new CheckpointFormatException("tensor " + name + " not found in " + path);
        }
        return info;
    }

    /** The optional "__metadata__" entries in header order; empty if absent (unmodifiable). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Read-only little-endian buffer over exactly this tensor's bytes (position 0, limit = byte size). */
    public ByteBuffer bytes(String name) {
        TensorInfo info = info(name);
        if (info.byteSize() > Integer.MAX_VALUE) {
            throw new CheckpointFormatException("tensor " + name + " in " + path + " is too large to map as one buffer ("
                    + info.byteSize() + " bytes > " + Integer.MAX_VALUE + ")");
        }
        ByteBuffer buffer = mapped.computeIfAbsent(name, n -> map(info));
        // duplicate() resets the byte order, so set it on every view handed out.
        return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Decodes an F32, F16 or BF16 tensor into a fresh float32 array. */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        TensorDtype dtype = info.dtype();
        if (dtype != TensorDtype.F32 && dtype != TensorDtype.F16 && dtype != TensorDtype.BF16) {
            throw new CheckpointFormatException("tensor " + name + " in " + path + " has dtype " + dtype
                    + "; readFloats supports only F32, F16 and BF16");
        }
        long count = info.elementCount();
        // Java arrays cannot hold more than about Integer.MAX_VALUE - 8 elements on common VMs.
        if (count > Integer.MAX_VALUE - 8) {
            throw new CheckpointFormatException("tensor " + name + " in " + path + " has " + count
                    + " elements, too large for a float[] (max " + (Integer.MAX_VALUE - 8) + ")");
        }
        ByteBuffer bytes = bytes(name);
        float[] out = new float[(int) count];
        switch (dtype) {
            case F32 -> bytes.asFloatBuffer().get(out);
            case F16 -> {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = halfToFloat(halves.get(i));
                }
            }
            default -> {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = bfloat16ToFloat(halves.get(i));
                }
            }
        }
        return out;
    }

    /** Closes the channel. Buffers already returned by {@link #bytes} remain readable. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    /** IEEE 754 binary16 to binary32; exact for every input, including subnormals, infinities and NaN payloads. */
    static float halfToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Subnormal (or zero): mantissa * 2^-24 is exact in float32; apply the sign bit separately to keep -0.
            float magnitude = mantissa * 0x1p-24f;
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    /** bfloat16 is the upper half of a float32. */
    static float bfloat16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    private ByteBuffer map(TensorInfo info) {
        if (closed) {
            throw new IllegalStateException("safetensors file " + path + " is closed");
        }
        if (info.byteSize() == 0) {
            return ByteBuffer.allocate(0).asReadOnlyBuffer();
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteSize());
        } catch (IOException e) {
            throw new CheckpointFormatException("cannot map tensor " + info.name() + " of " + path + ": " + e, e);
        }
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException("unexpected end of file at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }

    private static String decodeUtf8(Path path, ByteBuffer bytes) {
        // A strict decoder: Jackson alone would accept some malformed sequences inside strings.
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder().decode(bytes);
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw fail(path, "header is not valid UTF-8 (" + e + ")");
        }
    }

    private static CheckpointFormatException fail(Path path, String problem) {
        return new CheckpointFormatException("invalid safetensors file " + path + ": " + problem);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Read-only channel: nothing to flush, nothing worth reporting.
        }
    }

    /** Turns the header JSON into validated TensorInfos; one instance per open(). */
    private static final class HeaderParser {
        private final Path path;
        private final long dataSize;
        final Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        final Map<String, String> metadata = new LinkedHashMap<>();

        HeaderParser(Path path, long dataSize) {
            this.path = path;
            this.dataSize = dataSize;
        }

        void parse(String json) {
            JsonNode root;
            try {
                // Duplicate keys would let two different entries claim one name; trailing tokens hide garbage.
                ObjectMapper mapper = new ObjectMapper()
                        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
                root = mapper.readTree(json);
            } catch (JsonProcessingException e) {
                throw fail(path, "header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw fail(path, "header is not a JSON object");
            }
            for (Map.Entry<String, JsonNode> field : root.properties()) {
                if (METADATA_KEY.equals(field.getKey())) {
                    parseMetadata(field.getValue());
                } else {
                    tensors.put(field.getKey(), parseTensor(field.getKey(), field.getValue()));
                }
            }
            checkOverlaps();
        }

        private void parseMetadata(JsonNode node) {
            if (!node.isObject()) {
                throw fail(path, METADATA_KEY + " must be an object of string -> string");
            }
            for (Map.Entry<String, JsonNode> entry : node.properties()) {
                if (!entry.getValue().isTextual()) {
                    throw fail(path, METADATA_KEY + " value for key \"" + entry.getKey()
                            + "\" must be a string, got " + entry.getValue().getNodeType());
                }
                metadata.put(entry.getKey(), entry.getValue().textValue());
            }
        }

        private TensorInfo parseTensor(String name, JsonNode node) {
            String where = "tensor \"" + name + "\"";
            if (!node.isObject()) {
                throw fail(path, where + " entry must be a JSON object, got " + node.getNodeType());
            }
            JsonNode dtypeNode = node.get("dtype");
            if (dtypeNode == null || !dtypeNode.isTextual()) {
                throw fail(path, where + " has a missing or non-string dtype");
            }
            TensorDtype dtype;
            try {
                dtype = TensorDtype.fromCode(dtypeNode.textValue());
            } catch (CheckpointFormatException e) {
                throw fail(path, where + " has unknown dtype \"" + dtypeNode.textValue() + "\"");
            }
            long[] shape = longArray(node.get("shape"), where, "shape");
            for (long dim : shape) {
                if (dim < 0) {
                    throw fail(path, where + " has a negative dimension " + dim + " in its shape");
                }
            }
            long[] offsets = longArray(node.get("data_offsets"), where, "data_offsets");
            if (offsets.length != 2) {
                throw fail(path, where + " data_offsets must have exactly 2 entries, got " + offsets.length);
            }
            long begin = offsets[0];
            long end = offsets[1];
            if (begin > end) {
                throw fail(path, where + " data_offsets begin " + begin + " > end " + end);
            }
            if (begin < 0 || end > dataSize) {
                throw fail(path, where + " data_offsets [" + begin + ", " + end
                        + "] lie outside the data area of " + dataSize + " bytes");
            }
            long expected;
            try {
                long count = 1;
                for (long dim : shape) {
                    count = Math.multiplyExact(count, dim);
                }
                expected = Math.multiplyExact(count, (long) dtype.byteSize());
            } catch (ArithmeticException e) {
                throw fail(path, where + " element count overflows a long for shape " + Arrays.toString(shape));
            }
            if (end - begin != expected) {
                throw fail(path, where + " byte size " + (end - begin) + " does not match shape "
                        + Arrays.toString(shape) + " x " + dtype + " = " + expected + " bytes");
            }
            return new TensorInfo(name, dtype, shape, begin, end);
        }

        private long[] longArray(JsonNode node, String where, String field) {
            if (node == null || !node.isArray()) {
                throw fail(path, where + " has a missing or non-array " + field);
            }
            long[] values = new long[node.size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode element = node.get(i);
                if (!element.isIntegralNumber() || !element.canConvertToLong()) {
                    throw fail(path, where + " " + field + "[" + i + "] must be an integer that fits in a long, got "
                            + element);
                }
                values[i] = element.longValue();
            }
            return values;
        }

        private void checkOverlaps() {
            // Empty tensors occupy no bytes, so they cannot overlap anything; leaving them out also makes
            // the adjacent-pair check sufficient (sorted non-empty intervals overlap only if neighbours do).
            List<TensorInfo> byBegin = new ArrayList<>();
            for (TensorInfo info : tensors.values()) {
                if (info.byteSize() > 0) {
                    byBegin.add(info);
                }
            }
            byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            for (int i = 1; i < byBegin.size(); i++) {
                TensorInfo previous = byBegin.get(i - 1);
                TensorInfo current = byBegin.get(i);
                if (current.begin() < previous.end()) {
                    throw fail(path, "tensors \"" + previous.name() + "\" " + offsets(previous) + " and \""
                            + current.name() + "\" " + offsets(current) + " overlap");
                }
            }
        }

        private static String offsets(TensorInfo info) {
            return "[" + info.begin() + ", " + info.end() + ")";
        }
    }
}
