package dev.chorus.engine.compress;

/** Progress of a compression run, for a progress bar or a log. */
public interface CompressionListener {
    void onStep(int block, int blocks, String what);

    void onBlockRepaired(int block, double mseBefore, double mseAfter);

    CompressionListener NONE = new CompressionListener() {
        @Override
        public void onStep(int block, int blocks, String what) {
        }

        @Override
        public void onBlockRepaired(int block, double mseBefore, double mseAfter) {
        }
    };
}
