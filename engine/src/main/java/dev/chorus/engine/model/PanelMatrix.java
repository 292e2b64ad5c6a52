package dev.chorus.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A dense weight W [out, in] held in Java arrays and multiplied by the engine's own kernels: y = x·Wᵀ
 * for a few inputs at once. W is stored in panels of {@link #PANEL} outputs, input-major inside a
 * panel, so a step over the input reads one contiguous vector per 8 outputs and every lane
 * accumulates its own output: no horizontal sums. Four inputs share each weight load (the batched
 * kernel); a single input takes two panels at a time to keep four accumulation chains in flight.
 * Either way an output is one chain of fused multiply-adds over j = 0..in−1, so a row's result does
 * not depend on how many rows share the call. Panels are the outer loop, so each is read from memory
 * once per call. Subclasses own the storage (fp32, bf16) and the kernels that load it; the kernels
 * are kept apart per storage so each stays one compiled loop (vectors that meet from two storages'
 * branches may be boxed).
 */
abstract sealed class PanelMatrix implements HostLinear permits HostMatrix, HostBf16Matrix {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256; // 512-bit vectors are slow on JDK 17 here
    static final int LANES = 8;
    static final int PANEL = 2 * LANES; // outputs per panel
    /** Multiply-adds below which a product stays on the calling thread (waking a worker costs more). */
    private static final long PARALLEL_FROM = 1L << 20;

    final int out;
    final int in;
    private final KernelThreads threads;

    PanelMatrix(float[] w, int out, int in, KernelThreads threads) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("weight holds " + w.length + " values, not " + out + "×" + in);
        }
        this.out = out;
        this.in = in;
        this.threads = threads;
    }

    /** Entries of the panel storage: whole panels, outputs past out zero. */
    final int panelEntries() {
        return (out + PANEL - 1) / PANEL * in * PANEL;
    }

    /** Where W[o, j] sits in the panel storage. */
    final int at(int o, int j) {
        return o / PANEL * in * PANEL + j * PANEL + o % PANEL;
    }

    @Override
    public final int inFeatures() {
        return in;
    }

    @Override
    public final int outFeatures() {
        return out;
    }

    @Override
    public final void multiply(float[] x, int rows, float[] y) {
        int count = (out + PANEL - 1) / PANEL;
        int parts = (long) rows * out * in < PARALLEL_FROM ? 1 : Math.min(threads.threads(), count / 2);
        if (parts <= 1) {
            multiplyPanels(x, rows, y, 0, count);
        } else {
            threads.run(parts, p -> multiplyPanels(x, rows, y, count * p / parts, count * (p + 1) / parts));
        }
    }

    /** y[t, o] = Σ_j W[o, j]·x[t, j] for the outputs of panels [from, to) and every input t. */
    private void multiplyPanels(float[] x, int rows, float[] y, int from, int to) {
        float[] spill = new float[4 * PANEL]; // the sums of a kernel call on their way into y
        if (rows == 1) {
            int p = from;
            for (; p + 2 <= to; p += 2) {
                oneInputTwoPanels(x, 0, p, spill);
                store(spill, 0, 0, p, y);
                store(spill, 1, 0, p + 1, y);
            }
            if (p < to) {
                fourInputs(x, 0, p, spill, 1);
                store(spill, 0, 0, p, y);
            }
            return;
        }
        for (int p = from; p < to; p++) {
            for (int t = 0; t < rows; t += 4) {
                int n = Math.min(4, rows - t);
                fourInputs(x, t, p, spill, n);
                for (int k = 0; k < n; k++) {
                    store(spill, k, t + k, p, y);
                }
            }
        }
    }

    /**
     * Panel p for inputs t..t+n−1 (n ≤ 4; absent inputs repeat input t): input t+k's sums into
     * spill[k·PANEL ...]. Vectors stay in the kernel (passed to another method, they may be boxed).
     */
    abstract void fourInputs(float[] x, int t, int p, float[] spill, int n);

    /** Panels p and p+1 for input t, four chains, each output's the same as in {@link #fourInputs}: their sums into spill[0 ..] and spill[PANEL ..]. */
    abstract void oneInputTwoPanels(float[] x, int t, int p, float[] spill);

    /** The k-th panel of sums in spill into y[t, p·PANEL ...], only the outputs that exist. */
    private void store(float[] spill, int k, int t, int p, float[] y) {
        int o = p * PANEL;
        System.arraycopy(spill, k * PANEL, y, t * out + o, Math.min(PANEL, out - o));
    }
}
