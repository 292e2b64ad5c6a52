package dev.chorus.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * The worker threads of a model's own CPU kernels, as many as the backend's intra-op threads (so a
 * kernel uses the cores the backend's matrix products would): the caller runs part 0, daemon workers
 * the others. Owned by one {@link LlamaWeights}, stopped when it closes.
 */
public final class KernelThreads implements AutoCloseable {
    private final int threads;
    private final ExecutorService workers; // threads - 1 daemon threads; null when 1

    KernelThreads(int threads) {
        this.threads = Math.max(1, threads);
        this.workers = this.threads == 1 ? null : Executors.newFixedThreadPool(this.threads - 1, r -> {
            Thread t = new Thread(r, "chorus-kernel");
            t.setDaemon(true);
            return t;
        });
    }

    /** Sized like the backend's intra-op pool (PyTorch: its thread count, which OMP_NUM_THREADS sets), at most the cores. */
    public static KernelThreads like(NDManager m) {
        int backend = "PyTorch".equals(m.getEngine().getEngineName()) ? JniUtils.getNumThreads() : 1;
        return new KernelThreads(Math.min(backend, Runtime.getRuntime().availableProcessors()));
    }

    int threads() {
        return threads;
    }

    /** Runs part(0..parts-1), part 0 on the calling thread; returns when all are done, rethrowing the first failure. */
    void run(int parts, IntConsumer part) {
        if (parts <= 1 || workers == null) {
            for (int p = 0; p < parts; p++) {
                part.accept(p);
            }
            return;
        }
        List<Future<?>> running = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int index = p;
            running.add(workers.submit(() -> part.accept(index)));
        }
        RuntimeException failure = null;
        try {
            part.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for kernel workers", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
