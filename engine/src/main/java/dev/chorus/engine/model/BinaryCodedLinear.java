package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.chorus.engine.compressed.BinaryCodedMatrix;

/** W = Σ_i diag(α_i)·B_i ⊙ M with sign planes and mask kept bit-packed on the device. */
final class BinaryCodedLinear implements LinearLayer {
    private final NDArray alphas; // [q, out, 1]
    private final NDArray signs; // [q, out, ceil(in/8)] uint8, bit set = +1
    private final NDArray mask; // [out, ceil(in/8)] uint8, bit set = kept
    private final int q;
    private final int out;
    private final int in;

    BinaryCodedLinear(NDManager m, BinaryCodedMatrix b) {
        this.q = b.q();
        this.out = b.rows();
        this.in = b.cols();
        int stride = (in + 7) / 8;
        byte[] planes = new byte[q * out * stride];
        for (int i = 0; i < q; i++) {
            System.arraycopy(b.signs()[i], 0, planes, i * out * stride, out * stride);
        }
        this.alphas = m.create(b.alphas(), new Shape(q, out, 1));
        this.signs = m.create(java.nio.ByteBuffer.wrap(planes), new Shape(q, out, stride), DataType.UINT8);
        this.mask = m.create(java.nio.ByteBuffer.wrap(b.mask().packed()), new Shape(out, stride), DataType.UINT8);
    }

    @Override
    public NDArray apply(NDArray x) {
        NDManager step = x.getManager();
        NDArray plusMinus = bits(signs, step).mul(2).sub(1); // [q, out, in]
        NDArray w = plusMinus.mul(alphas).sum(new int[] {0}).mul(bits(mask, step)); // [out, in]
        return Linear.linear(x, w).singletonOrThrow();
    }

    /** Unpacks little-endian bit planes [..., ceil(in/8)] into 0/1 floats [..., in]. */
    private NDArray bits(NDArray packed, NDManager step) {
        NDArray bytes = packed.toType(DataType.FLOAT32, false);
        bytes.attach(step);
        NDList planes = new NDList(8);
        for (int k = 0; k < 8; k++) {
            planes.add(bytes.div(1 << k).floor().mod(2));
        }
        Shape s = packed.getShape();
        NDArray all = NDArrays.stack(planes, -1).reshape(s.slice(0, s.dimension() - 1).add(s.get(s.dimension() - 1) * 8));
        return all.get(new NDIndex("..., :" + in));
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public long bytesResident() {
        return alphas.getShape().size() * Float.BYTES + signs.getShape().size() + mask.getShape().size();
    }

    @Override
    public void close() {
        alphas.close();
        signs.close();
        mask.close();
    }
}
