package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

/**
 * GPTQ-style quantization with error compensation, mask-preserving: columns are quantized left to
 * right and each column's rounding error is spread over the row's not-yet-quantized weights through
 * the upper Cholesky factor U of H⁻¹ (H = Σ x xᵀ + damping). As in SparseGPT, a pruned weight is
 * quantized to exactly 0 (code = zero point) and its residual is compensated like any other, so the
 * result keeps the mask exactly. A group's scale and zero point are chosen when its first column is
 * reached, from the kept weights as updated so far.
 */
public final class GptqQuantizer {
    private GptqQuantizer() {
    }

    public static QuantizedMatrix quantize(float[] w, int rows, int cols, SparsityMask mask, QuantSpec spec, double[] hessian,
            double dampening) {
        if (hessian.length != (long) cols * cols) {
            throw new IllegalArgumentException("Hessian must be " + cols + "x" + cols);
        }
        double[] h = hessian.clone();
        double[][] work = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                work[r][c] = mask.kept(r, c) ? w[r * cols + c] : 0.0;
            }
        }
        double meanDiagonal = 0;
        for (int j = 0; j < cols; j++) {
            if (h[j * cols + j] == 0) { // an input never seen in calibration: its weights cannot matter
                h[j * cols + j] = 1;
                for (double[] row : work) {
                    row[j] = 0;
                }
            }
            meanDiagonal += h[j * cols + j] / cols;
        }
        for (int j = 0; j < cols; j++) {
            h[j * cols + j] += dampening * meanDiagonal;
        }
        double[] u = upperCholeskyOfInverse(h, cols);

        int groups = spec.groups(cols);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[rows * groups];
        byte[] zeros = new byte[rows * groups];
        GroupQuantizer.GroupScale[] current = new GroupQuantizer.GroupScale[rows];
        for (int j = 0; j < cols; j++) {
            int g = j / spec.groupSize();
            boolean groupStart = j % spec.groupSize() == 0;
            double ujj = u[j * cols + j];
            for (int r = 0; r < rows; r++) {
                double[] row = work[r];
                if (groupStart) {
                    current[r] = GroupQuantizer.scaleFor(c -> row[c], j, Math.min(cols, j + spec.groupSize()), r, mask, spec);
                    scales[r * groups + g] = current[r].scale();
                    zeros[r * groups + g] = (byte) current[r].zero();
                }
                // A pruned weight is "quantized" to exactly 0 (code = zero point); like any other rounding,
                // the difference from its updated value is compensated by the columns still to come.
                boolean kept = mask.kept(r, j);
                int code = kept ? current[r].code(row[j], spec) : current[r].zero();
                codes[r * cols + j] = (byte) code;
                double error = (row[j] - (kept ? current[r].dequantize(code) : 0.0)) / ujj;
                if (error != 0) {
                    for (int k = j + 1; k < cols; k++) {
                        row[k] -= error * u[j * cols + k];
                    }
                }
            }
        }
        return new QuantizedMatrix(rows, cols, spec, codes, scales, zeros, mask);
    }

    /** U upper-triangular with H⁻¹ = Uᵀ U. */
    static double[] upperCholeskyOfInverse(double[] h, int n) {
        double[] l = cholesky(h, n); // H = L Lᵀ
        double[] lInv = new double[n * n]; // L⁻¹, lower-triangular
        for (int i = 0; i < n; i++) {
            lInv[i * n + i] = 1.0 / l[i * n + i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                for (int k = j; k < i; k++) {
                    sum += l[i * n + k] * lInv[k * n + j];
                }
                lInv[i * n + j] = -sum / l[i * n + i];
            }
        }
        double[] inverse = new double[n * n]; // H⁻¹ = L⁻ᵀ L⁻¹
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = 0;
                for (int k = i; k < n; k++) {
                    sum += lInv[k * n + i] * lInv[k * n + j];
                }
                inverse[i * n + j] = sum;
                inverse[j * n + i] = sum;
            }
        }
        double[] l2 = cholesky(inverse, n); // H⁻¹ = L2 L2ᵀ, so U = L2ᵀ
        double[] upper = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                upper[j * n + i] = l2[i * n + j];
            }
        }
        return upper;
    }

    private static double[] cholesky(double[] a, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = a[i * n + j];
                for (int k = 0; k < j; k++) {
                    sum -= l[i * n + k] * l[j * n + k];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        throw new IllegalArgumentException("Hessian is not positive definite (increase dampening)");
                    }
                    l[i * n + i] = Math.sqrt(sum);
                } else {
                    l[i * n + j] = sum / l[j * n + j];
                }
            }
        }
        return l;
    }
}
