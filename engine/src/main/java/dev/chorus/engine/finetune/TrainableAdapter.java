package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The trainable part of a fine-tune, as arrays that record gradients, and how each type changes a
 * frozen linear y = W x (ARCHITECTURE.md §4):
 * lora y = Wx + s·B(Ax); qa-lora y = Wx + s·B·A·pool_g(x); qa-hira y = Wx + s·repeat_o(A·pool_g(x));
 * scale y = α ⊙ Wx; sparse-peft and qa-sparse-peft through {@link #effectiveWeight}.
 * New adapters start as PEFT does (A uniform in ±1/√in, B = 0, α = 1), so step 0 is the base.
 */
final class TrainableAdapter {
    private final ModelConfig config;
    private final AdapterType type;
    private final int rank;
    private final float alpha;
    private final float scaling;
    private final Set<Projection> targets;
    private final Integer groupSize;
    private final Map<Adapter.Module, NDArray> a = new HashMap<>(); // [r, in] (qa-lora: [r, in/g])
    private final Map<Adapter.Module, NDArray> b = new HashMap<>(); // [out, r]
    private final Map<Adapter.Module, NDArray> scales = new HashMap<>(); // [out] (scale)
    // SQFT: the base's mask as 0/1 and, for qa-sparse-peft, its scales and zero points per column
    private final Map<Adapter.Module, NDArray> keep = new HashMap<>(); // [out, in]
    private final Map<Adapter.Module, NDArray> quantScale = new HashMap<>(); // [out, in]
    private final Map<Adapter.Module, NDArray> quantZero = new HashMap<>(); // [out, in]
    private final Map<Adapter.Module, Integer> maxCode = new HashMap<>();

    TrainableAdapter(ModelConfig config, AdapterType type, int rank, float alpha, Set<Projection> targets, Integer groupSize,
            Adapter init, NDManager manager, DataType dtype, long seed) {
        this(config, type, rank, alpha, targets, groupSize, init, null, manager, dtype, seed);
    }

    /** {@code frozen}: the compressed base's masks and quantization grids, needed by the SQFT types. */
    TrainableAdapter(ModelConfig config, AdapterType type, int rank, float alpha, Set<Projection> targets, Integer groupSize,
            Adapter init, FrozenLinears frozen, NDManager manager, DataType dtype, long seed) {
        this.config = config;
        this.type = type;
        this.rank = type == AdapterType.SCALE ? 0 : rank;
        this.alpha = alpha;
        this.scaling = this.rank == 0 ? 0f : alpha / this.rank;
        this.targets = Set.copyOf(targets);
        this.groupSize = groupSize;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (!targets.contains(p)) {
                    continue;
                }
                Adapter.Module m = new Adapter.Module(layer, p);
                Adapter.Weights start = init == null ? null : init.modules().get(m);
                int out = p.outFeatures(config);
                if (type == AdapterType.SCALE) {
                    float[] s = start != null ? start.scales() : filled(out, 1f);
                    scales.put(m, trainable(manager.create(s, new Shape(out)), dtype));
                    continue;
                }
                if (type.mergedOnly()) {
                    sqftGrid(m, frozen, type, manager, dtype);
                }
                if (type == AdapterType.QA_HIRA) { // one A [out/o, in/g], starting at 0 (no B to hold the zero)
                    Shape shape = new Shape(out / rank, p.inFeatures(config) / groupSize);
                    float[] aInit = start != null ? start.a() : new float[(int) shape.size()];
                    a.put(m, trainable(manager.create(aInit, shape), dtype));
                    continue;
                }
                int cols = type == AdapterType.QA_LORA ? p.inFeatures(config) / groupSize : p.inFeatures(config);
                float[] aInit = start != null ? start.a() : uniform(rnd, rank * cols, 1.0 / Math.sqrt(p.inFeatures(config)));
                float[] bInit = start != null ? start.b() : new float[out * rank];
                a.put(m, trainable(manager.create(aInit, new Shape(rank, cols)), dtype));
                b.put(m, trainable(manager.create(bInit, new Shape(out, rank)), dtype));
            }
        }
    }

    private void sqftGrid(Adapter.Module m, FrozenLinears frozen, AdapterType type, NDManager manager, DataType dtype) {
        if (frozen == null) {
            throw new IllegalArgumentException(type.label() + " trains against a compressed base's mask");
        }
        var mask = frozen.masks().get(m);
        Shape shape = new Shape(mask.rows(), mask.cols());
        keep.put(m, manager.create(mask.keepWeights(), shape).toType(dtype, false));
        if (type == AdapterType.QA_SPARSE_PEFT) {
            var q = frozen.quantized().get(m);
            if (q == null) {
                throw new IllegalArgumentException("qa-sparse-peft needs a quantized base; " + m + " is not quantized");
            }
            quantScale.put(m, manager.create(FrozenLinears.perColumn(q, false), shape).toType(dtype, false));
            quantZero.put(m, manager.create(FrozenLinears.perColumn(q, true), shape).toType(dtype, false));
            maxCode.put(m, q.spec().maxCode());
        }
    }

    private static NDArray trainable(NDArray x, DataType dtype) {
        NDArray typed = x.toType(dtype, false);
        typed.setRequiresGradient(true);
        return typed;
    }

    /** The adapted linear: x [.., in], w [out, in] → [.., out]. */
    NDArray apply(int layer, Projection p, NDArray x, NDArray w) {
        Adapter.Module m = new Adapter.Module(layer, p);
        if (!targets.contains(p)) {
            return BlockTrainer.linear(x, w);
        }
        return switch (type) {
            case SCALE -> BlockTrainer.linear(x, w).mul(scales.get(m));
            case LORA -> BlockTrainer.linear(x, w).add(BlockTrainer.linear(BlockTrainer.linear(x, a.get(m)), b.get(m)).mul(scaling));
            case QA_LORA -> BlockTrainer.linear(x, w).add(BlockTrainer.linear(BlockTrainer.linear(pool(x), a.get(m)), b.get(m)).mul(scaling));
            case QA_HIRA -> {
                NDArray low = BlockTrainer.linear(pool(x), a.get(m)); // [.., out/o]
                yield BlockTrainer.linear(x, w).add(low.repeat(low.getShape().dimension() - 1, rank).mul(scaling));
            }
            case SPARSE_PEFT, QA_SPARSE_PEFT -> BlockTrainer.linear(x, effectiveWeight(m, w));
        };
    }

    /**
     * SparsePEFT: W' = Wᵖ + s·(BA ⊙ M), zero wherever the base is pruned. QA-SparsePEFT: fq(W') on
     * the base's own grid, q = clip(round(W'/s_q + z), 0, max), fq = (q − z)·s_q, with a
     * straight-through gradient (forward fq(W'), backward as if W').
     */
    NDArray effectiveWeight(Adapter.Module m, NDArray w) {
        NDArray merged = merged(m, w);
        if (type != AdapterType.QA_SPARSE_PEFT) {
            return merged;
        }
        NDArray quantized = codes(m, merged).sub(quantZero.get(m)).mul(quantScale.get(m));
        return merged.add(quantized.sub(merged).stopGradient());
    }

    /** W' = W + s·(BA ⊙ M): one expression for the training forward and for AdapterMerge, so both compute the same floats. */
    NDArray merged(Adapter.Module m, NDArray w) {
        return w.add(b.get(m).matMul(a.get(m)).mul(scaling).mul(keep.get(m)));
    }

    /** The integer codes of W' on the base's grid (as floats). */
    NDArray codes(Adapter.Module m, NDArray merged) {
        return merged.div(quantScale.get(m)).add(quantZero.get(m)).round().clip(0, maxCode.get(m));
    }

    /** Mean over each group of g consecutive inputs: [.., in] → [.., in/g]. */
    private NDArray pool(NDArray x) {
        Shape s = x.getShape();
        long in = s.get(s.dimension() - 1);
        Shape grouped = s.slice(0, s.dimension() - 1).add(in / groupSize, groupSize);
        return x.reshape(grouped).mean(new int[] {-1});
    }

    /** Arrays the optimizer updates; {@code decayed} says whether weight decay applies (not to scales, which decay toward 1, not 0). */
    List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>(a.values());
        out.addAll(b.values());
        out.addAll(scales.values());
        return out;
    }

    boolean decayed(NDArray parameter) {
        return !scales.containsValue(parameter);
    }

    long parameterCount() {
        return parameters().stream().mapToLong(x -> x.getShape().size()).sum();
    }

    /** The current values as an adapter (PEFT files via AdapterFiles.write). */
    Adapter snapshot(String baseFingerprint) {
        Map<Adapter.Module, Adapter.Weights> modules = new HashMap<>();
        for (Adapter.Module m : type == AdapterType.SCALE ? scales.keySet() : a.keySet()) {
            modules.put(m, type == AdapterType.SCALE
                    ? new Adapter.Weights(null, null, scales.get(m).toType(DataType.FLOAT32, false).toFloatArray())
                    : new Adapter.Weights(a.get(m).toType(DataType.FLOAT32, false).toFloatArray(),
                            b.containsKey(m) ? b.get(m).toType(DataType.FLOAT32, false).toFloatArray() : null, null));
        }
        return new Adapter(type, rank, alpha, scaling, targets, type == AdapterType.QA_LORA || type == AdapterType.QA_HIRA ? groupSize : null,
                baseFingerprint, modules);
    }

    private static float[] filled(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }

    private static float[] uniform(SplittableRandom rnd, int n, double bound) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return out;
    }
}
