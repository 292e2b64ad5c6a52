package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.ModelConfig;

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

    public long bytes() {
        return 2L * keys.length * keys[0].getShape().size() * Float.BYTES;
    }

    @Override
    public void close() {
        manager.close();
    }
}
