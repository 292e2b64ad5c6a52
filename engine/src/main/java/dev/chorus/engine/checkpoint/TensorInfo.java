package dev.chorus.engine.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's header entry. begin/end are byte offsets relative to the data area (which starts
 * right after the JSON header). The shape array is copied in and out so the record stays immutable;
 * equals/hashCode/toString compare and print the shape by content.
 */
public record TensorInfo(String name, TensorDtype dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Product of the dimensions (1 for a scalar); throws ArithmeticException on overflow. */
    public long elementCount() {
        long count = 1;
        for (long dim : shape) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    /** Bytes this tensor occupies in the data area, i.e. end - begin. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && begin == t.begin
                && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
