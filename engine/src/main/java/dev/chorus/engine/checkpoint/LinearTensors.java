package dev.chorus.engine.checkpoint;

import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.Int4Packing;
import dev.chorus.engine.compressed.KeptInt4Codes;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;


/**
 * The safetensors tensors of one compressed linear, under its module prefix:
 * INT8 → qweight (U8 [out, in]); INT4 → qweight_kept (U8 [bytes], only the kept codes, {@link KeptInt4Codes}) since
 * format 2, qweight (U8 [out, ceil(in/2)], every code, two per byte) in format 1; both with scales (F32 [out, groups])
 * and qzeros (U8 [out, groups]);
 * binary coding → bcq_alpha (F32 [q, out]), bcq_signs (U8 [q, out, ceil(in/8)]);
 * sparsity only → weight (F32); always mask (U8 [out, ceil(in/8)], bit set = kept).
 */
final class LinearTensors {
    private LinearTensors() {
    }

    static void write(SafetensorsWriter out, String prefix, CompressedMatrix m) {
        long rows = m.rows();
        long maskCols = SparsityMask.bytesPerRow(m.cols());
        out.add(prefix + "mask", TensorDtype.U8, new long[] {rows, maskCols}, m.mask().packed());
        if (m instanceof QuantizedMatrix q) {
            int groups = q.spec().groups(q.cols());
            if (q.spec().bits() == 4) {
                byte[] kept = KeptInt4Codes.pack(q.codes(), q.mask(), q.spec().groupSize());
                out.add(prefix + "qweight_kept", TensorDtype.U8, new long[] {kept.length}, kept);
            } else {
                out.add(prefix + "qweight", TensorDtype.U8, new long[] {rows, q.cols()}, q.codes());
            }
            out.addFloats(prefix + "scales", new long[] {rows, groups}, q.scales());
            out.add(prefix + "qzeros", TensorDtype.U8, new long[] {rows, groups}, q.zeros());
            if (q.zeroShift() != null) {
                out.addFloats(prefix + "qzeros_shift", new long[] {rows, groups}, q.zeroShift());
            }
        } else if (m instanceof BinaryCodedMatrix b) {
            out.addFloats(prefix + "bcq_alpha", new long[] {b.q(), rows}, b.alphas());
            byte[] planes = new byte[Math.toIntExact(b.q() * rows * maskCols)];
            for (int i = 0; i < b.q(); i++) {
                System.arraycopy(b.signs()[i], 0, planes, Math.toIntExact(i * rows * maskCols), b.signs()[i].length);
            }
            out.add(prefix + "bcq_signs", TensorDtype.U8, new long[] {b.q(), rows, maskCols}, planes);
        } else if (m instanceof MaskedMatrix d) {
            out.addFloats(prefix + "weight", new long[] {rows, d.cols()}, d.values());
        }
    }

    static CompressedMatrix read(SafetensorsFile f, String prefix, int rows, int cols, CompressionManifest manifest) {
        int maskCols = SparsityMask.bytesPerRow(cols);
        SparsityMask mask;
        try {
            mask = SparsityMask.fromPacked(rows, cols, CompressedCheckpoint.bytes(f, prefix + "mask", rows, maskCols));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(prefix + "mask: " + e.getMessage());
        }
        if (manifest.bcqPlanes() != null) {
            int q = manifest.bcqPlanes();
            float[] alphas = CompressedCheckpoint.floats(f, prefix + "bcq_alpha", q, rows);
            byte[] planes = CompressedCheckpoint.bytes(f, prefix + "bcq_signs", q, rows, maskCols);
            byte[][] signs = new byte[q][];
            for (int i = 0; i < q; i++) {
                signs[i] = java.util.Arrays.copyOfRange(planes, i * rows * maskCols, (i + 1) * rows * maskCols);
            }
            requireFinite(prefix + "bcq_alpha", alphas);
            return new BinaryCodedMatrix(rows, cols, q, alphas, signs, mask);
        }
        if (manifest.bits() == null) {
            float[] w = CompressedCheckpoint.floats(f, prefix + "weight", rows, cols);
            requireFinite(prefix + "weight", w);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    if (!mask.kept(r, c) && w[r * cols + c] != 0f) {
                        throw new CheckpointFormatException(prefix + "weight: pruned entry (" + r + ", " + c + ") is not zero");
                    }
                }
            }
            return new MaskedMatrix(rows, cols, w, mask);
        }
        QuantSpec spec = new QuantSpec(manifest.bits(), manifest.groupSize(), Boolean.TRUE.equals(manifest.symmetric()));
        int groups = spec.groups(cols);
        float[] scales = CompressedCheckpoint.floats(f, prefix + "scales", rows, groups);
        byte[] zeros = CompressedCheckpoint.bytes(f, prefix + "qzeros", rows, groups);
        byte[] codes;
        if (spec.bits() == 8) {
            codes = CompressedCheckpoint.bytes(f, prefix + "qweight", rows, cols);
        } else if (manifest.formatVersion() == 1) {
            codes = Int4Packing.unpack(CompressedCheckpoint.bytes(f, prefix + "qweight", rows, (cols + 1) / 2), rows, cols);
        } else {
            long length = KeptInt4Codes.length(mask, spec.groupSize());
            try {
                codes = KeptInt4Codes.unpack(CompressedCheckpoint.bytes(f, prefix + "qweight_kept", length), mask, spec.groupSize(), zeros);
            } catch (IllegalArgumentException e) {
                throw new CheckpointFormatException(prefix + "qweight_kept: " + e.getMessage());
            }
        }
        for (int i = 0; i < scales.length; i++) {
            if (!(scales[i] > 0f) || Float.isInfinite(scales[i])) {
                throw new CheckpointFormatException(prefix + "scales: entry " + i + " is " + scales[i] + "; scales must be finite and > 0");
            }
            if ((zeros[i] & 0xFF) > spec.maxCode()) {
                throw new CheckpointFormatException(prefix + "qzeros: zero point " + (zeros[i] & 0xFF) + " exceeds " + spec.maxCode());
            }
        }
        float[] shift = null;
        if (f.names().contains(prefix + "qzeros_shift")) { // a folded QA-LoRA / QA-HiRA adapter
            shift = CompressedCheckpoint.floats(f, prefix + "qzeros_shift", rows, groups);
            requireFinite(prefix + "qzeros_shift", shift);
        }
        QuantizedMatrix q = new QuantizedMatrix(rows, cols, spec, codes, scales, zeros, mask, shift);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (!mask.kept(r, c) && q.code(r, c) != q.zero(r, c / spec.groupSize())) {
                    throw new CheckpointFormatException(prefix + "qweight: pruned entry (" + r + ", " + c
                            + ") does not code to its zero point, so it would not dequantize to 0");
                }
            }
        }
        return q;
    }

    private static void requireFinite(String name, float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new CheckpointFormatException(name + ": entry " + i + " is not finite");
            }
        }
    }
}
