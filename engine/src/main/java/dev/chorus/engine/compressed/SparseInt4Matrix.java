package dev.chorus.engine.compressed;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A sparse INT4 group-quantized weight as it stays resident for inference: only the kept codes, the
 * bit mask, and per-group scales and zero points; y = W x computed straight from them with the Vector
 * API, so no dense weight (not even one layer's) is ever built. Matrices that read the same input
 * (q, k, v) are stacked row-wise into one.
 *
 * <p>The kept codes of a row follow each other as one nibble stream (code i at nibble i, low nibble
 * first). An 8-column chunk with mask byte m and k = popcount(m) kept codes is expanded without a
 * lookup of its values: its next k nibbles are read as one int (the eighth nibble set to the group's
 * integer zero point when k < 8), broadcast, and lane i shifted right by 4·rank(i) for a kept column
 * or by 28 (the zero point) for a pruned one, so every lane holds its dense code Q, and a chunk
 * costs one conversion, one subtraction of z and one fused multiply-add; the scale is applied once
 * per group. A folded QA-LoRA shift moves z off the integer grid; pruned columns hold the integer
 * zero point, so they come out at −s·shift, as {@link QuantizedMatrix} defines. Each part of a stack
 * starts on a byte, so the stack holds exactly its parts' bytes.
 */
public final class SparseInt4Matrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256; // 512-bit vectors are slow on JDK 17 here
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int LANES = 8;
    private static final int TILE = SlabProduct.ROWS; // rows expanded together for a slab of inputs
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int[] SHIFTS = chunkShifts(); // [256 masks, LANES]: lane i's right shift within a chunk's code word

    private final int rows;
    private final int cols;
    private final int groupSize;
    private final int groups;
    private final int maskStride;
    private final byte[] codes; // the kept codes' nibble stream, rows one after another, plus 8 bytes of padding for long reads
    private final int[] rowStart; // [rows]: nibble where each row's codes start
    private final byte[] mask; // [rows, maskStride], bit set = kept
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
    }

    /** The matrices (all INT4 with the same inputs and group size) stacked along the output axis. */
    public static SparseInt4Matrix stack(List<QuantizedMatrix> parts) {
        QuantizedMatrix first = parts.get(0);
        int cols = first.cols();
        int groupSize = first.spec().groupSize();
        int groups = first.spec().groups(cols);
        int rows = 0;
        long keptBytes = 0;
        boolean shifted = false;
        for (QuantizedMatrix q : parts) {
            if (q.spec().bits() != 4 || q.cols() != cols || q.spec().groupSize() != groupSize) {
                throw new IllegalArgumentException("stacked matrices must all be INT4 with " + cols + " inputs and groups of " + groupSize);
            }
            rows += q.rows();
            keptBytes += (q.mask().keptCount() + 1) / 2;
            shifted |= q.zeroShift() != null;
        }
        byte[] codes = new byte[Math.toIntExact(keptBytes + Long.BYTES)];
        int[] rowStart = new int[rows];
        int stride = SparsityMask.bytesPerRow(cols);
        byte[] mask = new byte[rows * stride];
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        float[] shift = shifted ? new float[rows * groups] : null;
        int row = 0;
        int nibble = 0;
        for (QuantizedMatrix q : parts) {
            nibble += nibble & 1; // each part on a byte of its own
            System.arraycopy(q.mask().packed(), 0, mask, row * stride, q.rows() * stride);
            System.arraycopy(q.scales(), 0, scales, row * groups, q.scales().length);
            System.arraycopy(q.zeros(), 0, zeros, row * groups, q.zeros().length);
            if (q.zeroShift() != null) {
                System.arraycopy(q.zeroShift(), 0, shift, row * groups, q.zeroShift().length);
            }
            for (int r = 0; r < q.rows(); r++, row++) {
                rowStart[row] = nibble;
                for (int c = 0; c < cols; c++) {
                    if (q.mask().kept(r, c)) {
                        int code = q.code(r, c);
                        if (code > 15) {
                            throw new IllegalArgumentException("code " + code + " at (" + r + ", " + c + ") does not fit in 4 bits");
                        }
                        codes[nibble >>> 1] |= (byte) (code << ((nibble & 1) << 2));
                        nibble++;
                    }
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

    /** Bytes held: kept codes, row offsets, mask, scales, zero points (and folded shifts); not the 8 bytes of read padding. */
    public long residentBytes() {
        return (long) codes.length - Long.BYTES + (long) rowStart.length * Integer.BYTES + mask.length + (long) scales.length * Float.BYTES
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
        return new Workspace(paddedCols());
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
     * Fewer than {@link SparseInt4Input#SLAB_FROM} inputs: each expanded chunk meets up to 4 inputs
     * in registers. More: rows are expanded 4 at a time into the workspace and each of their weights
     * is broadcast against a whole slab of inputs (register tile of 4 rows × slab).
     */
    public void multiplyRows(SparseInt4Input in, float[] y, int from, int to, Workspace ws) {
        int batch = in.batch();
        if (in.cols() != cols || y.length < batch * rows || from < 0 || to > rows || from > to) {
            throw new IllegalArgumentException("input of " + in.cols() + " columns, y of " + y.length + ", rows [" + from + ", " + to
                    + ") do not fit a [" + rows + ", " + cols + "] weight at batch " + batch);
        }
        if (!in.slabbed()) {
            float[] xp = in.rowMajor();
            if (batch == 1) {
                for (int r = from; r < to; r++) {
                    y[r] = rowTimes(r, xp);
                }
                return;
            }
            for (int r = from; r < to; r++) {
                for (int b0 = 0; b0 < batch; b0 += 4) {
                    rowTimes4(r, xp, b0, batch, y);
                }
            }
            return;
        }
        int padded = paddedCols();
        for (int r0 = from; r0 < to; r0 += TILE) {
            int count = Math.min(TILE, to - r0);
            for (int k = 0; k < TILE; k++) {
                if (k < count) {
                    expandRow(r0 + k, ws.tile, k * padded);
                } else {
                    java.util.Arrays.fill(ws.tile, k * padded, (k + 1) * padded, 0f);
                }
            }
            SlabProduct.tileTimes(in, ws.tile, ws.out, y, rows, r0, count);
        }
    }

    /**
     * Row r of W times the single input x (padded to whole chunks): per group Σ (Q − z)·x over four
     * accumulation chains (the chunks are independent; one chain would wait on the FMA latency),
     * then scaled. (Σ Q·x − z·Σ x would save a subtraction per chunk but cancels: a row's result
     * would drift from its value in a batch.)
     */
    private float rowTimes(int r, float[] x) {
        int nibble = rowStart[r];
        int maskRow = r * maskStride;
        int perGroup = groupSize / LANES;
        float y = 0f;
        for (int g = 0; g < groups; g++) {
            int top = zeroNibble(r, g);
            float zero = effectiveZero(r, g);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int chunk = g * perGroup;
            int end = Math.min(maskStride, chunk + perGroup);
            for (; chunk + 4 <= end; chunk += 4) {
                int m0 = mask[maskRow + chunk] & 0xFF;
                int m1 = mask[maskRow + chunk + 1] & 0xFF;
                int m2 = mask[maskRow + chunk + 2] & 0xFF;
                int m3 = mask[maskRow + chunk + 3] & 0xFF;
                int n1 = nibble + Integer.bitCount(m0);
                int n2 = n1 + Integer.bitCount(m1);
                int n3 = n2 + Integer.bitCount(m2);
                int n4 = n3 + Integer.bitCount(m3);
                FloatVector q0 = codesOf(word(nibble, n1, top), m0).sub(zero);
                FloatVector q1 = codesOf(word(n1, n2, top), m1).sub(zero);
                FloatVector q2 = codesOf(word(n2, n3, top), m2).sub(zero);
                FloatVector q3 = codesOf(word(n3, n4, top), m3).sub(zero);
                a0 = q0.fma(FloatVector.fromArray(F, x, chunk * LANES), a0);
                a1 = q1.fma(FloatVector.fromArray(F, x, (chunk + 1) * LANES), a1);
                a2 = q2.fma(FloatVector.fromArray(F, x, (chunk + 2) * LANES), a2);
                a3 = q3.fma(FloatVector.fromArray(F, x, (chunk + 3) * LANES), a3);
                nibble = n4;
            }
            for (; chunk < end; chunk++) {
                int m = mask[maskRow + chunk] & 0xFF;
                int next = nibble + Integer.bitCount(m);
                a0 = codesOf(word(nibble, next, top), m).sub(zero).fma(FloatVector.fromArray(F, x, chunk * LANES), a0);
                nibble = next;
            }
            y += scales[r * groups + g] * a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        }
        return y;
    }

    /**
     * Row r of W times inputs b0..b0+3 of x [≥ b0+4, padded] (rows past the batch are padding):
     * each chunk is expanded once, as Q − z, and multiplied with the four inputs while in registers.
     */
    private void rowTimes4(int r, float[] x, int b0, int batch, float[] y) {
        int padded = paddedCols();
        int x0 = b0 * padded;
        int nibble = rowStart[r];
        int maskRow = r * maskStride;
        int perGroup = groupSize / LANES;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        for (int g = 0; g < groups; g++) {
            int top = zeroNibble(r, g);
            float zero = effectiveZero(r, g);
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int chunk = g * perGroup, end = Math.min(maskStride, chunk + perGroup); chunk < end; chunk++) {
                int m = mask[maskRow + chunk] & 0xFF;
                int next = nibble + Integer.bitCount(m);
                FloatVector w = codesOf(word(nibble, next, top), m).sub(zero);
                nibble = next;
                int c = x0 + chunk * LANES;
                s0 = w.fma(FloatVector.fromArray(F, x, c), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, c + padded), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, c + 2 * padded), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, c + 3 * padded), s3);
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

    /** Row r of W, s·(Q − z), into out[off, off + paddedCols) (rows of a tile: the kernel's only dense scratch). */
    private void expandRow(int r, float[] out, int off) {
        int nibble = rowStart[r];
        int maskRow = r * maskStride;
        int perGroup = groupSize / LANES;
        for (int g = 0; g < groups; g++) {
            int top = zeroNibble(r, g);
            float zero = effectiveZero(r, g);
            FloatVector scale = FloatVector.broadcast(F, scales[r * groups + g]);
            for (int chunk = g * perGroup, end = Math.min(maskStride, chunk + perGroup); chunk < end; chunk++) {
                int m = mask[maskRow + chunk] & 0xFF;
                int next = nibble + Integer.bitCount(m);
                codesOf(word(nibble, next, top), m).sub(zero).mul(scale).intoArray(out, off + chunk * LANES);
                nibble = next;
            }
        }
    }

    /** The dense codes Q of a chunk with mask byte m, from its code word: lane i = (word >>> shift(m, i)) & 15. */
    private static FloatVector codesOf(int word, int m) {
        return (FloatVector) IntVector.broadcast(I, word).lanewise(VectorOperators.LSHR, IntVector.fromArray(I, SHIFTS, m * LANES)).and(15)
                .convert(VectorOperators.I2F, 0);
    }

    /**
     * The code word of the chunk whose kept codes are nibbles [from, to) of the stream: those codes
     * in nibbles 0..k−1, and, when k < 8, the group's integer zero point in nibble 7 for pruned lanes.
     */
    private int word(int from, int to, int zeroNibble) {
        int kept = (int) ((1L << ((to - from) << 2)) - 1);
        int bits = (int) ((long) LONGS.get(codes, from >>> 1) >>> ((from & 1) << 2));
        return bits & kept | zeroNibble & ~kept;
    }

    /** The integer zero point of (row, group) in the top nibble of a code word. */
    private int zeroNibble(int r, int g) {
        return (zeros[r * groups + g] & 0xFF) << 28;
    }

    private float effectiveZero(int r, int g) {
        int i = r * groups + g;
        return (zeros[i] & 0xFF) + (zeroShift == null ? 0f : zeroShift[i]);
    }

    /** For each mask byte, each lane's shift: 4·(its rank among the kept lanes) if kept, 28 (the zero point's nibble) if pruned. */
    private static int[] chunkShifts() {
        int[] table = new int[256 * LANES];
        for (int m = 0; m < 256; m++) {
            int rank = 0;
            for (int lane = 0; lane < LANES; lane++) {
                table[m * LANES + lane] = (m >>> lane & 1) != 0 ? 4 * rank++ : 28;
            }
        }
        return table;
    }

    /** One thread's buffers: a tile of expanded rows and a tile's sums. */
    public static final class Workspace {
        final float[] tile; // [TILE, paddedCols]
        final float[] out; // [TILE, slab lanes]

        Workspace(int paddedCols) {
            this.tile = new float[TILE * paddedCols];
            this.out = new float[TILE * SlabProduct.LANES];
        }
    }
}
