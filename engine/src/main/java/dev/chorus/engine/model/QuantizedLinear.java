package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.chorus.engine.compressed.Int4Packing;
import dev.chorus.engine.compressed.QuantizedMatrix;

/**
 * A group-quantized weight kept packed on the device and dequantized per call:
 * W[r, c] = s[r, g]·(Q[r, c] − z[r, g]) into the shared scratch buffer, then y = W x.
 */
final class QuantizedLinear implements LinearLayer {
    private final NDArray codes; // [out, ceil(in/2)] uint8 for INT4 (low nibble first), [out, in] uint8 for INT8
    private final NDArray scales; // [out, groups, 1]
    private final NDArray zeros; // [out, groups, 1] uint8, or float32 with folded shifts
    private final NDArray mask; // [out, ceil(in/8)] uint8, kept for training and accounting
    private final int bits;
    private final int out;
    private final int in;
    private final int groups;
    private final int groupSize;
    private final DequantScratch scratch;

    QuantizedLinear(NDManager m, QuantizedMatrix q, DequantScratch scratch) {
        this.bits = q.spec().bits();
        this.out = q.rows();
        this.in = q.cols();
        this.groupSize = q.spec().groupSize();
        this.groups = q.spec().groups(in);
        byte[] stored = bits == 4 ? Int4Packing.pack(q.codes(), out, in) : q.codes();
        this.codes = m.create(java.nio.ByteBuffer.wrap(stored), new Shape(out, stored.length / out), DataType.UINT8);
        this.scales = m.create(q.scales(), new Shape(out, groups, 1));
        if (q.zeroShift() == null) {
            this.zeros = m.create(java.nio.ByteBuffer.wrap(q.zeros()), new Shape(out, groups, 1), DataType.UINT8);
        } else {
            float[] z = new float[out * groups];
            for (int r = 0; r < out; r++) {
                for (int g = 0; g < groups; g++) {
                    z[r * groups + g] = q.effectiveZero(r, g);
                }
            }
            this.zeros = m.create(z, new Shape(out, groups, 1));
        }
        byte[] maskBits = q.mask().packed();
        this.mask = m.create(java.nio.ByteBuffer.wrap(maskBits), new Shape(out, maskBits.length / out), DataType.UINT8);
        this.scratch = scratch;
    }

    @Override
    public NDArray apply(NDArray x) {
        return Linear.linear(x, dequantize(x.getManager())).singletonOrThrow();
    }

    /** The float weight [out, in], a view of the scratch buffer valid until the next layer of this shape. */
    NDArray dequantize(NDManager step) {
        NDArray buffer = scratch.buffer(new Shape(out, groups * groupSize)); // [out, groups*g]
        NDArray unpacked = codes.toType(DataType.FLOAT32, false);
        unpacked.attach(step);
        if (bits == 4) {
            NDArray high = unpacked.div(16).floor();
            NDArray low = unpacked.sub(high.mul(16));
            unpacked = NDArrays.stack(new NDList(low, high), -1).reshape(out, -1); // [out, 2*ceil(in/2)]
        }
        buffer.set(new NDIndex(":, :" + in), unpacked.get(new NDIndex(":, :" + in)));
        NDArray grouped = buffer.reshape(out, groups, groupSize); // a view: the in-place ops below write the scratch
        NDArray zeroPoints = zeros;
        if (zeros.getDataType() != DataType.FLOAT32) { // a converted copy, freed with the step (never the stored array)
            zeroPoints = zeros.toType(DataType.FLOAT32, false);
            zeroPoints.attach(step);
        }
        grouped.subi(zeroPoints).muli(scales);
        return in == groups * groupSize ? buffer : buffer.get(new NDIndex(":, :" + in));
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
        return codes.getShape().size() + scales.getShape().size() * Float.BYTES
                + zeros.getShape().size() * (zeros.getDataType() == DataType.UINT8 ? 1 : Float.BYTES) + mask.getShape().size();
    }

    @Override
    public void close() {
        codes.close();
        scales.close();
        zeros.close();
        mask.close();
    }
}
