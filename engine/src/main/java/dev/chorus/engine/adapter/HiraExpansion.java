package dev.chorus.engine.adapter;

import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.HashMap;
import java.util.Map;

/**
 * A QA-HiRA adapter as the low-rank pairs the batched forward already serves: with R = out/o,
 * A' [R, in] = A[k, j/g]/g (the group pooling folded in) and B' [out, R] with B'[i, i/o] = 1 (the
 * output repeat), so s·B'A'x = s·repeat_o(A·pool_g(x)) exactly. Modules with fewer rows are
 * zero-padded to the largest R.
 */
public final class HiraExpansion {
    private HiraExpansion() {
    }

    /** The rank of the expansion: the largest out/o over the adapter's modules. */
    public static int rank(Adapter a, ModelConfig c) {
        return a.modules().keySet().stream().mapToInt(m -> m.projection().outFeatures(c) / a.rank()).max().orElse(1);
    }

    /** Each module's pair A' [R, in], B' [out, R], R = {@link #rank}. */
    static Map<Adapter.Module, ModuleWeights.LowRank> toLowRank(QaHira kind, Adapter a, ModelConfig c) {
        int o = kind.outputGroup();
        int g = kind.groupSize();
        int r = rank(a, c);
        Map<Adapter.Module, ModuleWeights.LowRank> modules = new HashMap<>();
        for (var e : a.modules().entrySet()) {
            Projection p = e.getKey().projection();
            int in = p.inFeatures(c);
            int out = p.outFeatures(c);
            int rows = out / o;
            int cols = in / g;
            float[] hira = ((ModuleWeights.HiraFactor) e.getValue()).a(); // [rows, cols]
            float[] down = new float[r * in];
            for (int k = 0; k < rows; k++) {
                for (int j = 0; j < in; j++) {
                    down[k * in + j] = hira[k * cols + j / g] / g;
                }
            }
            float[] up = new float[out * r];
            for (int i = 0; i < out; i++) {
                up[i * r + i / o] = 1f;
            }
            modules.put(e.getKey(), new ModuleWeights.LowRank(down, up));
        }
        return modules;
    }
}
