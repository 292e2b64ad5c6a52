package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.ModelConfig;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Keys and values of every running sequence, one slot per sequence, preallocated so a step never
 * allocates cache memory. Which slot belongs to which sequence is the engine loop's business. Keys
 * are stored transposed (and pre-scaled by the model), so attention reads them as the right-hand
 * side of q·Kᵀ without a transpose per step.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys; // per layer [slots, kvHeads, headDim, capacity]
    private final NDArray[] values; // per layer [slots, kvHeads, capacity, headDim]
    private final FloatBuffer[] hostKeys; // per layer, a view of keys[layer]'s memory for the host decode path; made on first use
    private final FloatBuffer[] hostValues; // per layer, the same for values[layer]
    private final int slots;
    private final int capacity;

    public KvCache(ModelConfig config, NDManager parent, int slots, int capacity) {
        if (slots < 1 || capacity < 1 || capacity > config.maxPositions()) {
            throw new IllegalArgumentException("KV cache needs >= 1 slot and a capacity in [1, " + config.maxPositions() + "]");
        }
        this.manager = parent.newSubManager();
        this.slots = slots;
        this.capacity = capacity;
        // One spare slot past the usable ones takes the writes of padding tokens.
        Shape keyShape = new Shape(slots + 1, config.numKvHeads(), config.headDim(), capacity);
        Shape valueShape = new Shape(slots + 1, config.numKvHeads(), capacity, config.headDim());
        keys = new NDArray[config.numLayers()];
        values = new NDArray[config.numLayers()];
        hostKeys = new FloatBuffer[config.numLayers()];
        hostValues = new FloatBuffer[config.numLayers()];
        for (int l = 0; l < config.numLayers(); l++) {
            keys[l] = manager.zeros(keyShape, DataType.FLOAT32);
            values[l] = manager.zeros(valueShape, DataType.FLOAT32);
        }
    }

    /** Usable slots (0 .. slots−1). */
    public int slots() {
        return slots;
    }

    /** The slot that padding tokens of ragged rows write to; never read by a real token. */
    int spareSlot() {
        return slots;
    }

    /** Positions per slot. */
    public int capacity() {
        return capacity;
    }

    NDArray keys(int layer) {
        return keys[layer];
    }

    NDArray values(int layer) {
        return values[layer];
    }

    /** keys(layer)'s memory as a writable host view [slots + 1, kvHeads, headDim, capacity]. */
    FloatBuffer hostKeys(int layer) {
        if (hostKeys[layer] == null) {
            hostKeys[layer] = hostView(keys[layer]);
        }
        return hostKeys[layer];
    }

    /** values(layer)'s memory as a writable host view [slots + 1, kvHeads, capacity, headDim]. */
    FloatBuffer hostValues(int layer) {
        if (hostValues[layer] == null) {
            hostValues[layer] = hostView(values[layer]);
        }
        return hostValues[layer];
    }

    /**
     * The array's own memory, checked to be that and not a copy: a value written through the view (in
     * the spare slot, which no real token reads) must be what the backend then reads.
     */
    private FloatBuffer hostView(NDArray a) {
        FloatBuffer view = a.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        int probe = view.limit() - 1; // the spare slot's last entry
        float was = view.get(probe);
        view.put(probe, 12345f);
        long[] last = new long[a.getShape().dimension()];
        for (int i = 0; i < last.length; i++) {
            last[i] = a.getShape().get(i) - 1;
        }
        boolean shared = a.getFloat(last) == 12345f;
        view.put(probe, was);
        if (!shared) {
            throw new IllegalStateException("the backend gives no writable view of the KV cache's memory");
        }
        return view;
    }

    public long bytes() {
        return 2L * keys.length * keys[0].getShape().size() * Float.BYTES;
    }

    @Override
    public void close() {
        manager.close();
    }
}
