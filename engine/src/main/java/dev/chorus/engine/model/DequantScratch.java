package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.Map;

/**
 * Float buffers that compressed layers dequantize into, one per weight shape, reused by every layer
 * of that shape and every step: at most one layer's dense weight exists at a time. Only the engine
 * thread that runs the forward may use it.
 */
public final class DequantScratch implements AutoCloseable {
    private final NDManager manager;
    private final Map<Shape, NDArray> buffers = new HashMap<>();

    public DequantScratch(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    NDArray buffer(Shape shape) {
        return buffers.computeIfAbsent(shape, s -> manager.zeros(s, DataType.FLOAT32));
    }

    public long bytes() {
        return buffers.values().stream().mapToLong(a -> a.getShape().size() * Float.BYTES).sum();
    }

    @Override
    public void close() {
        manager.close();
    }
}
