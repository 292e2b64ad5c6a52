package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.SparsityMask;

/**
 * Binary-coding quantization per output row over its kept entries: W ≈ Σ_i α_i·B_i. Greedy start
 * (B_i = sign of the residual, α_i = its mean magnitude), then alternating refinement: least-squares
 * α for fixed B, then for fixed α each entry takes the sign pattern whose value is nearest. Each
 * refinement step can only lower the row's squared error.
 */
public final class BinaryCodingQuantizer {
    private BinaryCodingQuantizer() {
    }

    public static BinaryCodedMatrix quantize(float[] w, int rows, int cols, SparsityMask mask, int q, int refinementIterations) {
        if (q < 1 || q > 8) {
            throw new IllegalArgumentException("binary coding needs 1..8 planes, got " + q);
        }
        float[] alphas = new float[q * rows];
        int stride = SparsityMask.bytesPerRow(cols);
        byte[][] signs = new byte[q][rows * stride];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int c = 0; c < cols; c++) {
                n += mask.kept(r, c) ? 1 : 0;
            }
            double[] values = new double[n];
            int[] columns = new int[n];
            for (int c = 0, i = 0; c < cols; c++) {
                if (mask.kept(r, c)) {
                    values[i] = w[r * cols + c];
                    columns[i++] = c;
                }
            }
            RowCode code = greedy(values, q);
            for (int it = 0; it < refinementIterations; it++) {
                code.fitAlphas(values);
                code.fitSigns(values);
            }
            for (int i = 0; i < q; i++) {
                alphas[i * rows + r] = (float) code.alpha[i];
                for (int k = 0; k < n; k++) {
                    if (code.sign[i][k]) {
                        signs[i][r * stride + (columns[k] >>> 3)] |= (byte) (1 << (columns[k] & 7));
                    }
                }
            }
        }
        return new BinaryCodedMatrix(rows, cols, q, alphas, signs, mask);
    }

    /** One row's alphas and sign planes (true = +1) over its kept entries. */
    private static final class RowCode {
        final double[] alpha;
        final boolean[][] sign;

        RowCode(int q, int n) {
            alpha = new double[q];
            sign = new boolean[q][n];
        }

        double value(int k) {
            double v = 0;
            for (int i = 0; i < alpha.length; i++) {
                v += sign[i][k] ? alpha[i] : -alpha[i];
            }
            return v;
        }

        /** Least squares for α given the signs: (BᵀB) α = Bᵀ w; kept as is when singular. */
        void fitAlphas(double[] w) {
            int q = alpha.length;
            double[][] a = new double[q][q + 1];
            for (int k = 0; k < w.length; k++) {
                for (int i = 0; i < q; i++) {
                    double bi = sign[i][k] ? 1 : -1;
                    for (int j = 0; j < q; j++) {
                        a[i][j] += bi * (sign[j][k] ? 1 : -1);
                    }
                    a[i][q] += bi * w[k];
                }
            }
            double[] solved = solve(a, q);
            if (solved != null) {
                System.arraycopy(solved, 0, alpha, 0, q);
            }
        }

        /** For fixed α, each entry takes the nearest of the 2^q representable values. */
        void fitSigns(double[] w) {
            int q = alpha.length;
            int patterns = 1 << q;
            double[] level = new double[patterns];
            for (int p = 0; p < patterns; p++) {
                for (int i = 0; i < q; i++) {
                    level[p] += (p >>> i & 1) != 0 ? alpha[i] : -alpha[i];
                }
            }
            for (int k = 0; k < w.length; k++) {
                int best = 0;
                for (int p = 1; p < patterns; p++) {
                    if (Math.abs(w[k] - level[p]) < Math.abs(w[k] - level[best])) {
                        best = p;
                    }
                }
                for (int i = 0; i < q; i++) {
                    sign[i][k] = (best >>> i & 1) != 0;
                }
            }
        }
    }

    private static RowCode greedy(double[] w, int q) {
        RowCode code = new RowCode(q, w.length);
        double[] residual = w.clone();
        for (int i = 0; i < q; i++) {
            double sum = 0;
            for (int k = 0; k < residual.length; k++) {
                code.sign[i][k] = residual[k] >= 0;
                sum += Math.abs(residual[k]);
            }
            code.alpha[i] = residual.length == 0 ? 0 : sum / residual.length;
            for (int k = 0; k < residual.length; k++) {
                residual[k] -= code.sign[i][k] ? code.alpha[i] : -code.alpha[i];
            }
        }
        return code;
    }

    /** Gaussian elimination with partial pivoting on an augmented q×(q+1) system; null when singular. */
    private static double[] solve(double[][] a, int q) {
        for (int col = 0; col < q; col++) {
            int pivot = col;
            for (int r = col + 1; r < q; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(a[pivot][col]) < 1e-9) {
                return null;
            }
            double[] tmp = a[col];
            a[col] = a[pivot];
            a[pivot] = tmp;
            for (int r = 0; r < q; r++) {
                if (r != col) {
                    double f = a[r][col] / a[col][col];
                    for (int c = col; c <= q; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        double[] x = new double[q];
        for (int i = 0; i < q; i++) {
            x[i] = a[i][q] / a[i][i];
        }
        return x;
    }
}
