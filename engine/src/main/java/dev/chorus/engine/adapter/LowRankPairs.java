package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.model.BlockTrainer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/** What the kinds with a low-rank pair (A [rank, cols], B [out, rank]) share: PEFT tensors, initialisation, random weights. */
final class LowRankPairs {
    static final String A = "lora_A.weight";
    static final String B = "lora_B.weight";

    private LowRankPairs() {
    }

    static List<PeftTensor> tensors(int rank, int cols, int out) {
        return List.of(new PeftTensor(A, new long[] {rank, cols}), new PeftTensor(B, new long[] {out, rank}));
    }

    /** The shapes of a written pair: A [rank, a/rank], B [b/rank, rank]. */
    static List<PeftTensor> tensors(int rank, ModuleWeights.LowRank pair) {
        return tensors(rank, pair.a().length / rank, pair.b().length / rank);
    }

    static ModuleWeights.LowRank weights(List<float[]> values) {
        return new ModuleWeights.LowRank(values.get(0), values.get(1));
    }

    static List<float[]> values(ModuleWeights w) {
        ModuleWeights.LowRank pair = (ModuleWeights.LowRank) w;
        return List.of(pair.a(), pair.b());
    }

    static ModuleWeights.LowRank random(SplittableRandom rnd, int rank, int cols, int out, double std) {
        return new ModuleWeights.LowRank(gaussian(rnd, rank * cols, 0, std), gaussian(rnd, out * rank, 0, std));
    }

    /** A and B as trainable arrays: {@code start}'s values, or PEFT's init (A uniform in ±1/√in, B = 0: step 0 is the base). */
    static NDArray[] trainable(ModuleWeights start, int rank, int cols, int in, int out, NDManager manager, DataType dtype,
            SplittableRandom rnd) {
        ModuleWeights.LowRank pair = (ModuleWeights.LowRank) start;
        float[] a = pair != null ? pair.a() : uniform(rnd, rank * cols, 1.0 / Math.sqrt(in));
        float[] b = pair != null ? pair.b() : new float[out * rank];
        return new NDArray[] {TrainableModule.trainable(manager.create(a, new Shape(rank, cols)), dtype),
                TrainableModule.trainable(manager.create(b, new Shape(out, rank)), dtype)};
    }

    /** y = Wx + s·B·A·u(x), u the identity (lora) or the group pooling (qa-lora). */
    static final class Delta implements TrainableModule {
        private final NDArray a; // [rank, in] (qa-lora: [rank, in/g])
        private final NDArray b; // [out, rank]
        private final float scaling;
        private final UnaryOperator<NDArray> input;

        Delta(NDArray[] ab, float scaling, UnaryOperator<NDArray> input) {
            this.a = ab[0];
            this.b = ab[1];
            this.scaling = scaling;
            this.input = input;
        }

        @Override
        public NDArray forward(NDArray x, NDArray w) {
            NDArray ax = BlockTrainer.linear(input.apply(x), a);
            return BlockTrainer.linear(x, w).add(BlockTrainer.linear(ax, b).mul(scaling));
        }

        @Override
        public List<NDArray> parameters() {
            return List.of(a, b);
        }

        @Override
        public boolean decayed() {
            return true;
        }

        @Override
        public ModuleWeights snapshot() {
            return new ModuleWeights.LowRank(TrainableModule.floats(a), TrainableModule.floats(b));
        }
    }

    static float[] gaussian(SplittableRandom rnd, int n, double mean, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (mean + std * rnd.nextGaussian());
        }
        return out;
    }

    static float[] uniform(SplittableRandom rnd, int n, double bound) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return out;
    }
}
