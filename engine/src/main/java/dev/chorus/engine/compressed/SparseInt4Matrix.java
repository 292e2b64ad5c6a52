package dev.chorus.engine.compressed;

import java.util.List;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A sparse INT4 group-quantized weight as it stays resident for inference: only the kept codes
 * ({@link KeptInt4Codes}), the bit mask, and per-group scales and zero points; y = W x computed
 * straight from them with the Vector API, one row at a time, so no dense weight (not even one
 * layer's) is ever built. Matrices that read the same input (q, k, v) are stacked row-wise into one.
 *
 * <p>Per row and group: the group's kept codes are unpacked into consecutive lanes as (Q − z), each
 * 8-column chunk's values are moved to their columns by a shuffle chosen by the chunk's mask byte,
 * pruned columns take (z_int − z) (0 unless a QA-LoRA shift was folded in), and the chunk is
 * multiplied with x's chunk; the group's sum is scaled once.
 */
public final class SparseInt4Matrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256; // codes are widened to int lanes: x86 has no byte shifts
    private static final int LANES = 8;
    private static final int SLAB = 2 * LANES; // inputs multiplied together when the batch has several
    private static final VectorShuffle<Float>[] EXPAND = expandShuffles(); // mask byte -> lane i takes kept value rank(i)
    private static final VectorMask<Float>[] PRUNED = prunedMasks(); // mask byte -> lanes whose bit is clear

    private final int rows;
    private final int cols;
    private final int groupSize;
    private final int groups;
    private final int maskStride;
    private final byte[] codes; // kept codes, KeptInt4Codes layout, plus LANES bytes of padding for vector loads
    private final int[] rowStart; // [rows]: offset of each row's codes
    private final byte[] mask; // [rows, ceil(cols/8)], bit set = kept
    private final byte[] kept; // [rows, groups]: kept entries per group (unsigned, at most 128), so rows need no popcounts
    private final float[] scales; // [rows, groups]
    private final byte[] zeros; // [rows, groups] unsigned integer zero points
    private final float[] zeroShift; // [rows, groups] or null

    private SparseInt4Matrix(int rows, int cols, int groupSize, byte[] codes, int[] rowStart, byte[] mask, float[] scales, byte[] zeros,
            float[] zeroShift) {
        this.rows = rows;
        this.cols = cols;
        this.groupSize = groupSize;
        this.groups = (cols + groupSize - 1) / groupSize;
        this.maskStride = SparsityMask.bytesPerRow(cols);
        this.codes = codes;
        this.rowStart = rowStart;
        this.mask = mask;
        this.scales = scales;
        this.zeros = zeros;
        this.zeroShift = zeroShift;
        this.kept = new byte[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int chunk0 = g * groupSize / LANES;
                int n = 0;
                for (int chunk = chunk0; chunk < Math.min(maskStride, chunk0 + groupSize / LANES); chunk++) {
                    n += Integer.bitCount(mask[r * maskStride + chunk] & 0xFF);
                }
                kept[r * groups + g] = (byte) n;
            }
        }
    }

    /** The matrices (all INT4 with the same inputs and group size) stacked along the output axis. */
    public static SparseInt4Matrix stack(List<QuantizedMatrix> parts) {
        QuantizedMatrix first = parts.get(0);
        int cols = first.cols();
        int groupSize = first.spec().groupSize();
        int groups = first.spec().groups(cols);
        int rows = 0;
        boolean shifted = false;
        for (QuantizedMatrix q : parts) {
            if (q.spec().bits() != 4 || q.cols() != cols || q.spec().groupSize() != groupSize) {
                throw new IllegalArgumentException("stacked matrices must all be INT4 with " + cols + " inputs and groups of " + groupSize);
            }
            rows += q.rows();
            shifted |= q.zeroShift() != null;
        }
        byte[][] packed = new byte[parts.size()][];
        int codeBytes = 0;
        for (int i = 0; i < parts.size(); i++) {
            packed[i] = KeptInt4Codes.pack(parts.get(i).codes(), parts.get(i).mask(), groupSize);
            codeBytes += packed[i].length;
        }
        byte[] codes = new byte[codeBytes + LANES];
        int[] rowStart = new int[rows];
        byte[] mask = new byte[rows * SparsityMask.bytesPerRow(cols)];
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        float[] shift = shifted ? new float[rows * groups] : null;
        int row = 0;
        int at = 0;
        for (int i = 0; i < parts.size(); i++) {
            QuantizedMatrix q = parts.get(i);
            System.arraycopy(packed[i], 0, codes, at, packed[i].length);
            byte[] bits = q.mask().packed();
            System.arraycopy(bits, 0, mask, row * SparsityMask.bytesPerRow(cols), bits.length);
            System.arraycopy(q.scales(), 0, scales, row * groups, q.scales().length);
            System.arraycopy(q.zeros(), 0, zeros, row * groups, q.zeros().length);
            if (q.zeroShift() != null) {
                System.arraycopy(q.zeroShift(), 0, shift, row * groups, q.zeroShift().length);
            }
            for (int r = 0; r < q.rows(); r++, row++) {
                rowStart[row] = at;
                for (int c0 = 0; c0 < cols; c0 += groupSize) {
                    at += (keptInGroup(mask, row, c0, Math.min(cols, c0 + groupSize), SparsityMask.bytesPerRow(cols)) + 1) / 2;
                }
            }
        }
        return new SparseInt4Matrix(rows, cols, groupSize, codes, rowStart, mask, scales, zeros, shift);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Bytes held: kept codes, row offsets, mask, kept counts, scales, zero points (and folded shifts); not the 8 bytes of load padding. */
    public long residentBytes() {
        return (long) codes.length - LANES + (long) rowStart.length * Integer.BYTES + mask.length + kept.length + (long) scales.length * Float.BYTES
                + zeros.length + (zeroShift == null ? 0 : (long) zeroShift.length * Float.BYTES);
    }

    /** y [batch, rows] = x [batch, cols] · Wᵀ. */
    public void multiply(float[] x, int batch, float[] y) {
        if (x.length != batch * cols || y.length != batch * rows) {
            throw new IllegalArgumentException("x must be [" + batch + ", " + cols + "] and y [" + batch + ", " + rows + "]");
        }
        float[] unpacked = new float[groupSize + 2 * LANES];
        if (batch == 1) {
            int padded = maskStride * LANES;
            float[] xs = x;
            if (padded != cols) { // whole 8-lane chunks: pad the input with zeros
                xs = java.util.Arrays.copyOf(x, padded);
            }
            for (int r = 0; r < rows; r++) {
                y[r] = rowTimes(r, xs, unpacked);
            }
            return;
        }
        for (int b0 = 0; b0 < batch; b0 += SLAB) {
            slabTimes(x, b0, Math.min(SLAB, batch - b0), y, batch, unpacked);
        }
    }

    /** Row r of W times the single input x (padded to whole chunks). */
    private float rowTimes(int r, float[] x, float[] unpacked) {
        FloatVector acc = FloatVector.zero(F);
        int at = rowStart[r];
        int maskRow = r * maskStride;
        for (int g = 0; g < groups; g++) {
            int chunk0 = g * groupSize / LANES;
            int chunk1 = Math.min(maskStride, chunk0 + groupSize / LANES);
            at += unpackGroup(r, g, at, kept[r * groups + g] & 0xFF, unpacked);
            FloatVector pruned = FloatVector.broadcast(F, prunedValue(r, g));
            FloatVector sum = FloatVector.zero(F);
            int k = 0;
            for (int chunk = chunk0; chunk < chunk1; chunk++) {
                int bits = mask[maskRow + chunk] & 0xFF;
                FloatVector w = FloatVector.fromArray(F, unpacked, k).rearrange(EXPAND[bits]).blend(pruned, PRUNED[bits]);
                sum = w.fma(FloatVector.fromArray(F, x, chunk * LANES), sum);
                k += Integer.bitCount(bits);
            }
            acc = sum.fma(FloatVector.broadcast(F, scales[r * groups + g]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Rows of W times up to {@link #SLAB} inputs at once, vectorized across the inputs: x is transposed
     * to [cols, SLAB]; each row is expanded once into a one-row buffer and each of its weights is
     * broadcast against one column of inputs, so no horizontal sums are needed.
     */
    private void slabTimes(float[] x, int b0, int width, float[] y, int batch, float[] unpacked) {
        int padded = maskStride * LANES;
        float[] xt = new float[padded * SLAB]; // [ceil(cols/8)·8, SLAB], padding stays zero
        for (int b = 0; b < width; b++) {
            for (int c = 0; c < cols; c++) {
                xt[c * SLAB + b] = x[(b0 + b) * cols + c];
            }
        }
        float[] weightRow = new float[padded];
        float[] out = new float[SLAB];
        for (int r = 0; r < rows; r++) {
            expandRow(r, weightRow, unpacked);
            FloatVector lo = FloatVector.zero(F);
            FloatVector hi = FloatVector.zero(F);
            for (int c = 0; c < padded; c++) {
                FloatVector w = FloatVector.broadcast(F, weightRow[c]);
                lo = w.fma(FloatVector.fromArray(F, xt, c * SLAB), lo);
                hi = w.fma(FloatVector.fromArray(F, xt, c * SLAB + LANES), hi);
            }
            lo.intoArray(out, 0);
            hi.intoArray(out, LANES);
            for (int b = 0; b < width; b++) {
                y[(b0 + b) * rows + r] = out[b];
            }
        }
    }

    /** Row r of W into {@code out} [ceil(cols/8)·8] (a single row: the kernel's only dense scratch). */
    private void expandRow(int r, float[] out, float[] unpacked) {
        int at = rowStart[r];
        int maskRow = r * maskStride;
        for (int g = 0; g < groups; g++) {
            int chunk0 = g * groupSize / LANES;
            int chunk1 = Math.min(maskStride, chunk0 + groupSize / LANES);
            at += unpackGroup(r, g, at, kept[r * groups + g] & 0xFF, unpacked);
            FloatVector scale = FloatVector.broadcast(F, scales[r * groups + g]);
            FloatVector pruned = FloatVector.broadcast(F, prunedValue(r, g));
            int k = 0;
            for (int chunk = chunk0; chunk < chunk1; chunk++) {
                int bits = mask[maskRow + chunk] & 0xFF;
                FloatVector w = FloatVector.fromArray(F, unpacked, k).rearrange(EXPAND[bits]).blend(pruned, PRUNED[bits]);
                w.mul(scale).intoArray(out, chunk * LANES);
                k += Integer.bitCount(bits);
            }
        }
    }

    /** Unpacks the group's n kept codes as (Q − z) into out[0..n); returns the group's byte count. */
    private int unpackGroup(int r, int g, int at, int n, float[] out) {
        int h = (n + 1) / 2;
        float zero = effectiveZero(r, g);
        for (int j = 0; j < h; j += LANES) { // low nibbles: kept codes 0..h-1
            IntVector b = (IntVector) ByteVector.fromArray(B, codes, at + j).convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) b.and(0x0F).convert(VectorOperators.I2F, 0)).sub(zero).intoArray(out, j);
        }
        for (int j = 0; j < h; j += LANES) { // high nibbles: kept codes h..2h-1 (after the low ones: they may overrun into this range)
            IntVector b = (IntVector) ByteVector.fromArray(B, codes, at + j).convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) b.lanewise(VectorOperators.LSHR, 4).and(0x0F).convert(VectorOperators.I2F, 0)).sub(zero).intoArray(out, h + j);
        }
        return h;
    }

    private float effectiveZero(int r, int g) {
        int i = r * groups + g;
        return (zeros[i] & 0xFF) + (zeroShift == null ? 0f : zeroShift[i]);
    }

    /** What a pruned entry holds before scaling: its code is the integer zero point, so (z_int − z) = −shift. */
    private float prunedValue(int r, int g) {
        return zeroShift == null ? 0f : -zeroShift[r * groups + g];
    }

    private static int keptInGroup(byte[] mask, int row, int c0, int c1, int stride) {
        int n = 0;
        for (int c = c0; c < c1; c++) {
            n += mask[row * stride + (c >>> 3)] >>> (c & 7) & 1;
        }
        return n;
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] expandShuffles() {
        VectorShuffle<Float>[] table = new VectorShuffle[256];
        for (int bits = 0; bits < 256; bits++) {
            int[] source = new int[LANES];
            int rank = 0;
            for (int lane = 0; lane < LANES; lane++) {
                source[lane] = (bits >>> lane & 1) != 0 ? rank++ : 0;
            }
            table[bits] = VectorShuffle.fromArray(F, source, 0);
        }
        return table;
    }

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] prunedMasks() {
        VectorMask<Float>[] table = new VectorMask[256];
        for (int bits = 0; bits < 256; bits++) {
            boolean[] pruned = new boolean[LANES];
            for (int lane = 0; lane < LANES; lane++) {
                pruned[lane] = (bits >>> lane & 1) == 0;
            }
            table[bits] = VectorMask.fromArray(F, pruned, 0);
        }
        return table;
    }
}
