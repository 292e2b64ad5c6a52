package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterConfig;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.adapter.Lora;
import dev.chorus.engine.adapter.ModuleWeights;
import dev.chorus.engine.adapter.TrainableModule;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.BlockTrainer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The trainable part of a fine-tune: per targeted module, what its kind trains and how it changes
 * the frozen linear y = W x (the kind classes hold the math, ARCHITECTURE.md §4). New adapters start
 * as PEFT does (A uniform in ±1/√in, B = 0, α = 1), so step 0 is the base.
 */
final class TrainableAdapter {
    private final AdapterKind kind;
    private final Set<Projection> targets;
    // Layer-major, projection order: the optimizer's parameter order (and so its float sums) must not hang on hash codes.
    private final Map<Adapter.Module, TrainableModule> modules = new LinkedHashMap<>();
    private final Map<NDArray, Boolean> decayed = new IdentityHashMap<>(); // parameter → its module's answer

    /**
     * {@code init}: the adapter to continue (null: a new one); {@code frozen}: the compressed base's
     * masks and quantization grids, asked for (once) only by the kinds that train against them.
     */
    TrainableAdapter(ModelConfig config, AdapterKind kind, Set<Projection> targets, Adapter init, Supplier<FrozenLinears> frozen,
            NDManager manager, DataType dtype, long seed) {
        this.kind = kind;
        this.targets = Set.copyOf(targets);
        Supplier<FrozenLinears> once = once(frozen);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (targets.contains(p)) {
                    Adapter.Module m = new Adapter.Module(layer, p);
                    ModuleWeights start = init == null ? null : init.modules().get(m);
                    modules.put(m, kind.trainable(m, start, config, once, manager, dtype, rnd));
                }
            }
        }
    }

    /** An adapter that targets nothing: the base alone. */
    static TrainableAdapter none(ModelConfig config, NDManager manager) {
        return new TrainableAdapter(config, new Lora(1, 1f, 1f), Set.of(), null, null, manager, DataType.FLOAT32, 0);
    }

    /** The adapted linear: x [.., in], w [out, in] → [.., out]. */
    NDArray apply(int layer, Projection p, NDArray x, NDArray w) {
        TrainableModule m = modules.get(new Adapter.Module(layer, p));
        return m == null ? BlockTrainer.linear(x, w) : m.forward(x, w);
    }

    /** Arrays the optimizer updates: every module's first parameter (A), then every second (B). */
    List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>();
        int most = modules.values().stream().mapToInt(m -> m.parameters().size()).max().orElse(0);
        for (int i = 0; i < most; i++) {
            for (TrainableModule m : modules.values()) {
                if (i < m.parameters().size()) {
                    out.add(m.parameters().get(i));
                }
            }
        }
        return out;
    }

    /** Whether weight decay applies to {@code parameter} (not to scales, which decay toward 1, not 0). */
    boolean decayed(NDArray parameter) {
        return decayed.computeIfAbsent(parameter, p -> modules.values().stream().filter(m -> m.parameters().contains(p)).findFirst()
                .map(TrainableModule::decayed).orElse(true));
    }

    long parameterCount() {
        return parameters().stream().mapToLong(x -> x.getShape().size()).sum();
    }

    /** The current values as an adapter (PEFT files via AdapterFiles.write). */
    Adapter snapshot(String baseFingerprint) {
        Map<Adapter.Module, ModuleWeights> weights = new HashMap<>();
        modules.forEach((m, module) -> weights.put(m, module.snapshot()));
        return new Adapter(new AdapterConfig(kind, targets, baseFingerprint), weights);
    }

    private static Supplier<FrozenLinears> once(Supplier<FrozenLinears> frozen) {
        FrozenLinears[] read = new FrozenLinears[1];
        return () -> {
            if (read[0] == null && frozen != null) {
                read[0] = frozen.get();
            }
            return read[0];
        };
    }
}
