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
    private static final int TILE = SlabProduct.ROWS; // rows expanded together for a slab of inputs
    private static final VectorShuffle<Float>[] EXPAND = ChunkTables.expandShuffles(F); // mask byte -> lane i takes kept value rank(i)
    private static final VectorShuffle<Float>[] COMPRESS = ChunkTables.compressShuffles(F); // mask byte -> lane j takes the j-th kept lane
    private static final VectorMask<Float>[] PRUNED = ChunkTables.prunedMasks(F); // mask byte -> lanes whose bit is clear

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

    /** The input length the kernels read per row: cols rounded up to whole 8-column chunks. */
    int paddedCols() {
        return maskStride * LANES;
    }

    /** An input layout for this matrix's columns, to be filled with {@link SparseInt4Input#load} and reused. */
    public SparseInt4Input newInput() {
        return new SparseInt4Input(cols, paddedCols());
    }

    /** A per-thread workspace for {@link #multiplyRows}: sized for this matrix, reused across calls. */
    public Workspace newWorkspace() {
        return new Workspace(groupSize, paddedCols());
    }

    /** y [batch, rows] = x [batch, cols] · Wᵀ on the calling thread; allocates its buffers each call (hot paths: {@link #multiplyRows}). */
    public void multiply(float[] x, int batch, float[] y) {
        if (y.length != batch * rows) {
            throw new IllegalArgumentException("y must be [" + batch + ", " + rows + "]");
        }
        multiplyRows(newInput().load(x, batch), y, 0, rows, newWorkspace());
    }

    /**
     * Rows [from, to) of y [batch, rows] = x · Wᵀ, x already laid out by {@code in}. Disjoint row
     * ranges may run on different threads, each with its own workspace, sharing {@code in} and y.
     * One input: x is gathered to each row's kept columns. Fewer than {@link SparseInt4Input#SLAB_FROM}:
     * each expanded 8-column chunk is multiplied in registers with up to 4 inputs. More: rows are
     * expanded 4 at a time into the workspace and each of their weights is broadcast against a whole
     * slab of inputs (register tile of 4 rows × slab).
     */
    public void multiplyRows(SparseInt4Input in, float[] y, int from, int to, Workspace ws) {
        int batch = in.batch();
        if (in.cols() != cols || y.length < batch * rows || from < 0 || to > rows || from > to) {
            throw new IllegalArgumentException("input of " + in.cols() + " columns, y of " + y.length + ", rows [" + from + ", " + to
                    + ") do not fit a [" + rows + ", " + cols + "] weight at batch " + batch);
        }
        if (!in.slabbed()) {
            float[] xp = in.rowMajor();
            float[] xsum = batch == 1 && zeroShift != null ? groupSums(xp, ws.xsum) : null;
            for (int r = from; r < to; r++) {
                if (batch == 1) {
                    y[r] = rowTimes(r, xp, xsum, ws);
                } else {
                    for (int b0 = 0; b0 < batch; b0 += 4) {
                        rowTimes4(r, xp, b0, batch, y, ws.unpacked);
                    }
                }
            }
            return;
        }
        int padded = paddedCols();
        for (int r0 = from; r0 < to; r0 += TILE) {
            int count = Math.min(TILE, to - r0);
            for (int k = 0; k < TILE; k++) {
                if (k < count) {
                    expandRow(r0 + k, ws.tile, k * padded, ws.unpacked);
                } else {
                    java.util.Arrays.fill(ws.tile, k * padded, (k + 1) * padded, 0f);
                }
            }
            SlabProduct.tileTimes(in, ws.tile, ws.out, y, rows, r0, count);
        }
    }

    /**
     * Row r of W times the single input x (padded to whole chunks). Here x is gathered instead of W
     * expanded: each chunk of x is compacted to its kept columns (a shuffle and a store, no blend),
     * then the group's kept values meet it in a plain dot product. Pruned entries hold −shift, so a
     * folded shift adds −shift·Σ_group x, which {@code xsum} [groups] holds (null when unshifted).
     */
    private float rowTimes(int r, float[] x, float[] xsum, Workspace ws) {
        float[] unpacked = ws.unpacked;
        float[] gathered = ws.gathered;
        FloatVector acc = FloatVector.zero(F);
        float shifted = 0f;
        int at = rowStart[r];
        int maskRow = r * maskStride;
        for (int g = 0; g < groups; g++) {
            int i = r * groups + g;
            int n = kept[i] & 0xFF;
            at += unpackGroup(at, n, unpacked, zeros[i] & 0xFF);
            int chunk0 = g * groupSize / LANES;
            int chunk1 = Math.min(maskStride, chunk0 + groupSize / LANES);
            int k = 0;
            for (int chunk = chunk0; chunk < chunk1; chunk++) {
                int bits = mask[maskRow + chunk] & 0xFF;
                FloatVector.fromArray(F, x, chunk * LANES).rearrange(COMPRESS[bits]).intoArray(gathered, k);
                k += Integer.bitCount(bits);
            }
            FloatVector.zero(F).intoArray(gathered, n); // the last vector's lanes past n meet zeros
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < n; j += LANES) {
                sum = FloatVector.fromArray(F, unpacked, j).fma(FloatVector.fromArray(F, gathered, j), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, scales[i]), acc);
            if (xsum != null) {
                shifted += scales[i] * zeroShift[i] * xsum[g];
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - shifted;
    }

    /**
     * Row r of W times inputs b0..b0+3 of x [≥ b0+4, padded] (rows past the batch are padding):
     * each chunk is expanded once and multiplied with the four inputs while in registers.
     */
    private void rowTimes4(int r, float[] x, int b0, int batch, float[] y, float[] unpacked) {
        int padded = paddedCols();
        int x0 = b0 * padded;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        int at = rowStart[r];
        int maskRow = r * maskStride;
        for (int g = 0; g < groups; g++) {
            int chunk0 = g * groupSize / LANES;
            int chunk1 = Math.min(maskStride, chunk0 + groupSize / LANES);
            at += unpackGroup(r, g, at, kept[r * groups + g] & 0xFF, unpacked);
            FloatVector pruned = FloatVector.broadcast(F, prunedValue(r, g));
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int k = 0;
            for (int chunk = chunk0; chunk < chunk1; chunk++) {
                int bits = mask[maskRow + chunk] & 0xFF;
                FloatVector w = FloatVector.fromArray(F, unpacked, k).rearrange(EXPAND[bits]).blend(pruned, PRUNED[bits]);
                int c = x0 + chunk * LANES;
                s0 = w.fma(FloatVector.fromArray(F, x, c), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, c + padded), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, c + 2 * padded), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, c + 3 * padded), s3);
                k += Integer.bitCount(bits);
            }
            FloatVector scale = FloatVector.broadcast(F, scales[r * groups + g]);
            acc0 = s0.fma(scale, acc0);
            acc1 = s1.fma(scale, acc1);
            acc2 = s2.fma(scale, acc2);
            acc3 = s3.fma(scale, acc3);
        }
        int n = Math.min(4, batch - b0);
        y[b0 * rows + r] = acc0.reduceLanes(VectorOperators.ADD);
        if (n > 1) {
            y[(b0 + 1) * rows + r] = acc1.reduceLanes(VectorOperators.ADD);
        }
        if (n > 2) {
            y[(b0 + 2) * rows + r] = acc2.reduceLanes(VectorOperators.ADD);
        }
        if (n > 3) {
            y[(b0 + 3) * rows + r] = acc3.reduceLanes(VectorOperators.ADD);
        }
    }

    /** Row r of W into out[off, off + ceil(cols/8)·8) (rows of a tile: the kernel's only dense scratch). */
    private void expandRow(int r, float[] out, int off, float[] unpacked) {
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
                w.mul(scale).intoArray(out, off + chunk * LANES);
                k += Integer.bitCount(bits);
            }
        }
    }

    /** Unpacks the group's n kept codes as (Q − z) into out[0..n), z its effective zero point; returns the group's byte count. */
    private int unpackGroup(int r, int g, int at, int n, float[] out) {
        return unpackGroup(at, n, out, effectiveZero(r, g));
    }

    /** Unpacks n kept codes from byte {@code at} on as (Q − zero) into out[0..n); returns their byte count. */
    private int unpackGroup(int at, int n, float[] out, float zero) {
        int h = (n + 1) / 2;
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

    /** Σ of x over each group's columns. */
    private float[] groupSums(float[] x, float[] out) {
        for (int g = 0; g < groups; g++) {
            float sum = 0f;
            for (int c = g * groupSize; c < Math.min(cols, (g + 1) * groupSize); c++) {
                sum += x[c];
            }
            out[g] = sum;
        }
        return out;
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

    /** One thread's buffers: a group's unpacked codes, a tile of expanded rows, a tile's sums. */
    public static final class Workspace {
        final float[] unpacked; // [groupSize + 16]
        final float[] gathered; // [groupSize + 16]: one group's kept inputs
        final float[] xsum; // [groups]
        final float[] tile; // [TILE, paddedCols]
        final float[] out; // [TILE, slab lanes]

        Workspace(int groupSize, int paddedCols) {
            this.unpacked = new float[groupSize + 2 * LANES];
            this.gathered = new float[groupSize + 2 * LANES];
            this.xsum = new float[(paddedCols + groupSize - 1) / groupSize];
            this.tile = new float[TILE * paddedCols];
            this.out = new float[TILE * SlabProduct.LANES];
        }
    }
}
