package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.RopeStyle;

/**
 * RoPE as one matrix per position: row vector x [headDim] times R(p) [headDim, headDim] is x rotated
 * by position p, so rotating every query and key head of a step is one batched matmul (instead of
 * slicing, four products and a concat per tensor). Each R(p) is also scaled by headDim^(−1/4): q and
 * k both carry half of attention's 1/sqrt(headDim), which then costs no op of its own.
 * Holds maxPositions · headDim² floats (2.4 MB for stories15M).
 */
final class RopeRotations {
    private RopeRotations() {
    }

    /**
     * {cos, sin} [positions, headDim/2] of every position and pair, times headDim^(−1/4): the entries
     * of the rotations below, and what the host decode path rotates by.
     */
    static float[][] scaledAngles(ModelConfig c, int positions) {
        float[][] angles = LlamaOps.ropeTables(c, positions);
        double scale = Math.pow(c.headDim(), -0.25);
        for (float[] table : angles) {
            for (int i = 0; i < table.length; i++) {
                table[i] = (float) (table[i] * scale);
            }
        }
        return angles;
    }

    /** [positions, headDim, headDim]: R(p)[i][j], the weight of x[i] in the rotated x[j]. */
    static NDArray table(ModelConfig c, int positions, NDManager m) {
        int d = c.headDim();
        int half = d / 2;
        float[][] angles = scaledAngles(c, positions);
        float[] r = new float[positions * d * d];
        for (int p = 0; p < positions; p++) {
            int base = p * d * d;
            for (int j = 0; j < half; j++) {
                float cos = angles[0][p * half + j];
                float sin = angles[1][p * half + j];
                // The pair (a, b) rotates to (a·cos − b·sin, a·sin + b·cos).
                int a = c.ropeStyle() == RopeStyle.INTERLEAVED ? 2 * j : j;
                int b = c.ropeStyle() == RopeStyle.INTERLEAVED ? 2 * j + 1 : j + half;
                r[base + a * d + a] = cos;
                r[base + b * d + a] = -sin;
                r[base + a * d + b] = sin;
                r[base + b * d + b] = cos;
            }
        }
        return m.create(r, new Shape(positions, d, d));
    }
}
