package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.SparseInt4Input;
import dev.chorus.engine.compressed.SparseInt4Matrix;
import java.nio.FloatBuffer;

/**
 * A sparse INT4 weight multiplied on the CPU by its own kernel ({@link SparseInt4Matrix}) straight
 * from the kept codes and mask: the input leaves the backend, the product comes back. Large products
 * are split by rows over the model's {@link KernelThreads}. Its buffers (input layout, workspaces,
 * output) are reused across calls, so calls on one layer are serialized.
 */
final class SparseInt4Linear implements LinearLayer, HostLinear {
    /** Multiply-adds below which a product stays on the calling thread (waking a worker costs more). */
    private static final long PARALLEL_FROM = 1L << 20;
    private static final int ROW_ALIGN = 4; // the kernel's row tile

    private final SparseInt4Matrix weight; // [out, in]
    private final KernelThreads threads;
    private final SparseInt4Input input;
    private final SparseInt4Matrix.Workspace[] workspaces; // [threads]
    private float[] y = new float[0]; // [batch, out], grown with the batch

    SparseInt4Linear(SparseInt4Matrix weight, KernelThreads threads) {
        this.weight = weight;
        this.threads = threads;
        this.input = weight.newInput();
        this.workspaces = new SparseInt4Matrix.Workspace[threads.threads()];
        for (int i = 0; i < workspaces.length; i++) {
            workspaces[i] = weight.newWorkspace();
        }
    }

    @Override
    public synchronized NDArray apply(NDArray x) {
        Shape shape = x.getShape();
        int rows = weight.rows();
        int batch = Math.toIntExact(shape.size() / weight.cols());
        if (y.length != batch * rows) {
            y = new float[batch * rows];
        }
        input.load(x.toByteBuffer(true).asFloatBuffer(), batch); // a view of x's memory where the backend allows
        multiplyLoaded(batch, y);
        NDArray product = x.getManager().create(shape.slice(0, shape.dimension() - 1).add(rows), DataType.FLOAT32);
        FloatBuffer view = product.toByteBuffer(true).asFloatBuffer(); // a fresh array is contiguous: a view, written in place
        view.put(y, 0, batch * rows);
        return product;
    }

    @Override
    public HostLinear onHost() {
        return this;
    }

    @Override
    public synchronized void multiply(float[] x, int batch, float[] out) {
        input.load(FloatBuffer.wrap(x, 0, batch * weight.cols()), batch);
        multiplyLoaded(batch, out);
    }

    /** out [batch, rows] = the loaded input · Wᵀ, split by rows over the threads when large. */
    private void multiplyLoaded(int batch, float[] out) {
        int rows = weight.rows();
        int parts = (long) batch * rows * weight.cols() < PARALLEL_FROM ? 1 : Math.min(workspaces.length, rows / ROW_ALIGN);
        if (parts <= 1) {
            weight.multiplyRows(input, out, 0, rows, workspaces[0]);
        } else {
            threads.run(parts, p -> weight.multiplyRows(input, out, bound(p, parts, rows), bound(p + 1, parts, rows), workspaces[p]));
        }
    }

    /** Start of part p's rows: an even share, on the row tile. */
    private static int bound(int p, int parts, int rows) {
        return p == parts ? rows : (int) ((long) rows * p / parts) / ROW_ALIGN * ROW_ALIGN;
    }

    @Override
    public int inFeatures() {
        return weight.cols();
    }

    @Override
    public int outFeatures() {
        return weight.rows();
    }

    @Override
    public long bytesResident() {
        return weight.residentBytes();
    }

    @Override
    public long bytes() {
        return weight.residentBytes(); // its only form: the same bytes as bytesResident, not a copy
    }

    @Override
    public void close() {
        // plain Java arrays: nothing held by the backend; the threads belong to the model
    }
}
