package dev.chorus.engine.compress;

import dev.chorus.engine.compressed.SparsityMask;
import java.util.Arrays;

/**
 * Wanda pruning: score S_ij = |W_ij|·‖X_j‖₂ (X_j = calibration activations of input j) and remove
 * the lowest scores per output row, or keep the N best of every M inputs. Magnitude pruning is the
 * same with all norms 1.
 */
public final class Pruner {
    private Pruner() {
    }

    public static SparsityMask wanda(float[] w, int rows, int cols, double[] inputNorms, SparsityPattern pattern) {
        if (inputNorms.length != cols) {
            throw new IllegalArgumentException("got " + inputNorms.length + " input norms for " + cols + " inputs");
        }
        boolean[] keep = new boolean[rows * cols];
        double[] score = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                score[c] = Math.abs(w[r * cols + c]) * inputNorms[c];
            }
            if (pattern instanceof SparsityPattern.NOfM nm) {
                keepBestPerGroup(score, nm, keep, r * cols);
            } else {
                keepBestOfRow(score, ((SparsityPattern.Unstructured) pattern).fraction(), keep, r * cols);
            }
        }
        return SparsityMask.of(rows, cols, keep);
    }

    public static SparsityMask magnitude(float[] w, int rows, int cols, SparsityPattern pattern) {
        double[] ones = new double[cols];
        Arrays.fill(ones, 1.0);
        return wanda(w, rows, cols, ones, pattern);
    }

    /** Prunes exactly floor(fraction·cols) entries: the lowest scores, lower column first on ties. */
    private static void keepBestOfRow(double[] score, double fraction, boolean[] keep, int offset) {
        int cols = score.length;
        int prune = (int) Math.floor(fraction * cols);
        Integer[] order = new Integer[cols];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[a], score[b]) : Integer.compare(a, b));
        for (int i = 0; i < cols; i++) {
            keep[offset + order[i]] = i >= prune;
        }
    }

    /** In every run of m inputs keeps the n highest scores (lower column first on ties). */
    private static void keepBestPerGroup(double[] score, SparsityPattern.NOfM nm, boolean[] keep, int offset) {
        int cols = score.length;
        if (cols % nm.m() != 0) {
            throw new IllegalArgumentException(nm + " sparsity needs the input dimension " + cols + " to be a multiple of " + nm.m());
        }
        Integer[] order = new Integer[nm.m()];
        for (int g = 0; g < cols; g += nm.m()) {
            int start = g;
            Arrays.setAll(order, i -> start + i);
            Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
            for (int i = 0; i < nm.m(); i++) {
                keep[offset + order[i]] = i < nm.n();
            }
        }
    }
}
