package dev.chorus.engine.cli;

import dev.chorus.engine.compress.CompressionListener;
import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr for compression; EBFT results get lines of their own. */
final class ProgressBar implements CompressionListener {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final long start = System.nanoTime();

    ProgressBar(PrintStream err) {
        this.err = err;
    }

    @Override
    public void onStep(int block, int blocks, String what) {
        int filled = blocks == 0 ? WIDTH : block * WIDTH / blocks;
        err.printf(Locale.ROOT, "\r[%s%s] block %d/%d %-24s %5.1fs", "#".repeat(filled), "-".repeat(WIDTH - filled), Math.min(block + 1, blocks),
                blocks, what, (System.nanoTime() - start) / 1e9);
        if (block >= blocks) {
            err.println();
        }
        err.flush();
    }

    @Override
    public void onBlockRepaired(int block, double mseBefore, double mseAfter) {
        err.printf(Locale.ROOT, "%nEBFT block %d: MSE %.6g -> %.6g%n", block, mseBefore, mseAfter);
    }
}
