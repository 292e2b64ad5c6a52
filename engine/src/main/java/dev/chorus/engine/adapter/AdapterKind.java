package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * How an adapter changes a frozen linear y = Ŵx (ARCHITECTURE.md §4), one class per kind with its
 * hyperparameters. Each kind owns its PEFT tensors and their shapes, how it is laid into the
 * batched slot tensors (or that it is served merged only), what it trains and how it merges.
 * {@link #of} is the one place that branches on the kind's name.
 */
public sealed interface AdapterKind permits FullInputLowRank, QaLora, QaHira, ChannelScale {

    AdapterType type();

    /** PEFT's r: the rank of B·A; qa-hira's output repeat o; 0 for scale. */
    int rank();

    /** PEFT's lora_alpha. */
    float alpha();

    /** s on the delta: α/r, or α/√r for rank-stabilised LoRA; 0 for scale. */
    float scaling();

    /** The kind's own parameters beyond its name, for Chorus's file metadata (e.g. the group size). */
    Map<String, String> metadata();

    /** The kind's hyperparameters as its source holds them; a kind asks only for what it has. */
    interface Parameters {
        int rank();

        float alpha();

        float scaling();

        int groupSize();
    }

    /** The factory: the only switch on a kind's name. */
    static AdapterKind of(AdapterType type, Parameters p) {
        return switch (type) {
            case LORA -> new Lora(p.rank(), p.alpha(), p.scaling());
            case QA_LORA -> new QaLora(p.rank(), p.alpha(), p.scaling(), p.groupSize());
            case QA_HIRA -> new QaHira(p.rank(), p.alpha(), p.scaling(), p.groupSize());
            case SCALE -> new ChannelScale(p.alpha());
            case SPARSE_PEFT -> new SparsePeft(p.rank(), p.alpha(), p.scaling());
            case QA_SPARSE_PEFT -> new QaSparsePeft(p.rank(), p.alpha(), p.scaling());
        };
    }

    /** A kind with s = α/r; {@code groupSize} is asked only by the grouped kinds (qa-lora, qa-hira). */
    static AdapterKind of(AdapterType type, int rank, float alpha, IntSupplier groupSize) {
        return of(type, new Parameters() {
            @Override
            public int rank() {
                return rank;
            }

            @Override
            public float alpha() {
                return alpha;
            }

            @Override
            public float scaling() {
                return alpha / rank;
            }

            @Override
            public int groupSize() {
                return groupSize.getAsInt();
            }
        });
    }

    // --- files -------------------------------------------------------------------------------

    /** The PEFT tensors of one targeted module and their shapes on {@code base}, in a fixed order. */
    List<PeftTensor> tensors(Projection p, ModelConfig base);

    /** One module's weights from its tensors' values, in {@link #tensors} order (shapes already checked). */
    ModuleWeights weights(Projection p, ModelConfig base, List<float[]> values);

    /** The tensors {@code w} is written as (their shapes follow from the weights), in {@link #tensors} order. */
    List<PeftTensor> tensors(ModuleWeights w);

    /** One module's tensors' values, in {@link #tensors} order. */
    List<float[]> values(ModuleWeights w);

    /** Seeded random weights of one module that visibly change the output (benchmarks, demos, tests). */
    ModuleWeights random(Projection p, ModelConfig c, SplittableRandom rnd, double std);

    // --- serving -----------------------------------------------------------------------------

    /** Lays {@code a}'s modules into one batched slot, or refuses ({@link MergedOnlyException}, rank too high). */
    void layInto(SlotContents slot, Adapter a);

    // --- training ----------------------------------------------------------------------------

    /**
     * The trainable parameters and training forward of one module, starting at {@code start} (null:
     * PEFT's initialisation from {@code rnd}). {@code frozen} is asked only by kinds that train
     * against the compressed base's mask and grid.
     */
    TrainableModule trainable(Adapter.Module m, ModuleWeights start, ModelConfig c, Supplier<FrozenLinears> frozen, NDManager manager,
            DataType dtype, SplittableRandom rnd);

    // --- merging -----------------------------------------------------------------------------

    /** {@code a} folded into the compressed base {@code frozen}, keeping what the base promised. */
    CompressedParameters merge(Adapter a, FrozenLinears frozen);

    /** {@code a} folded into a dense base, written in the compressed format with nothing pruned. */
    CompressedParameters mergeDense(Adapter a, DenseParameters base, String fingerprint);
}
