package dev.chorus.engine.model;

/** How the host decode path keeps dense weights: Java copies in fp32 or bf16, multiplied on {@code threads}. */
public record HostCopies(KernelThreads threads, boolean bf16) {
    public HostLinear of(float[] w, int out, int in) {
        return bf16 ? new HostBf16Matrix(w, out, in, threads) : new HostMatrix(w, out, in, threads);
    }
}
