package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.chorus.engine.compressed.BinaryCodedMatrix;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.compressed.SparseInt4Matrix;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Immutable device-resident weights of a Llama model. */
public final class LlamaWeights implements AutoCloseable {
    public final ModelConfig config;
    public final NDArray tokenEmbedding; // [vocab, dim]
    public final List<Block> blocks;
    public final RmsNorm finalNorm; // [dim]
    public final LinearLayer classifier; // [vocab, dim]
    private final NDManager manager;
    private final KernelThreads threads; // the CPU kernels' workers; null when the model has none
    private final HostCopies hostCopies; // how dense weights are kept for the host decode path; null without it

    /**
     * One transformer block. The projections reading one input are stacked into one linear (dense
     * weights concatenated at load), so each input costs one matrix product.
     */
    public record Block(
            RmsNorm attentionNorm, // [dim]
            LinearLayer qkv, // [(heads + 2·kvHeads)·headDim, dim]: query rows, key rows, value rows
            LinearLayer output, // [dim, heads*headDim]
            RmsNorm ffnNorm, // [dim]
            LinearLayer gateUp, // [2·hidden, dim]: gate rows, then up rows
            LinearLayer down) { // [dim, hidden]

        public List<LinearLayer> linears() {
            return List.of(qkv, output, gateUp, down);
        }
    }

    private LlamaWeights(ModelConfig config, NDManager manager, NDArray tokenEmbedding, List<Block> blocks, float[] finalNorm,
            LinearLayer classifier, KernelThreads threads, HostCopies hostCopies) {
        this(config, manager, tokenEmbedding, blocks, new RmsNorm(manager, finalNorm, config.rmsNormEps()), classifier, threads, hostCopies);
    }

    private LlamaWeights(ModelConfig config, NDManager manager, NDArray tokenEmbedding, List<Block> blocks, RmsNorm finalNorm,
            LinearLayer classifier, KernelThreads threads, HostCopies hostCopies) {
        this.config = config;
        this.manager = manager;
        this.threads = threads;
        this.hostCopies = hostCopies;
        this.tokenEmbedding = tokenEmbedding;
        this.blocks = List.copyOf(blocks);
        this.finalNorm = finalNorm;
        this.classifier = classifier;
    }

    /**
     * A merged variant of {@code base}: block linears from {@code merged}, uploaded into a new child
     * manager of {@code parent} in the base's form (stacked dense on a dense base, compressed otherwise);
     * the token embedding, classifier and every norm are the base's own arrays, shared and not copied,
     * after checking that the merge left them unchanged. Closing the variant frees only its linears.
     */
    public static LlamaWeights variant(LlamaWeights base, CompressedParameters merged, NDManager parent) {
        ModelConfig c = base.config;
        if (!c.equals(merged.config())) {
            throw new IllegalArgumentException("the merged model's config differs from the base's");
        }
        requireEqual(base.tokenEmbedding.toFloatArray(), merged.tokenEmbedding(), "token embedding");
        requireEqual(base.finalNorm.weight().toFloatArray(), merged.finalNorm(), "final norm");
        if (base.classifierSharesEmbedding() != merged.tied()) {
            throw new IllegalArgumentException("the merged model's classifier tying differs from the base's");
        }
        if (!base.classifierSharesEmbedding() && base.classifier instanceof DenseLinear d) {
            requireEqual(d.weight().toFloatArray(), merged.classifier(), "classifier");
        }
        boolean dense = base.blocks.get(0).qkv() instanceof DenseLinear;
        NDManager m = parent.newSubManager();
        boolean cpuKernel = !m.getDevice().isGpu(); // the linears take the base's form, as upload gives it
        KernelThreads threads = cpuKernel && (!dense || base.hostDecoding()) ? KernelThreads.like(m) : null;
        HostCopies hostCopies = base.hostDecoding() ? new HostCopies(threads, base.hostCopies.bf16()) : null;
        HostCopies denseCopies = dense ? hostCopies : null;
        try {
            DequantScratch scratch = new DequantScratch(m);
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < base.blocks.size(); i++) {
                Block shared = base.blocks.get(i);
                CompressedParameters.Block b = merged.blocks().get(i);
                requireEqual(shared.attentionNorm().weight().toFloatArray(), b.attentionNorm(), "attention norm " + i);
                requireEqual(shared.ffnNorm().weight().toFloatArray(), b.ffnNorm(), "ffn norm " + i);
                Function<List<Projection>, LinearLayer> stacked = projections -> dense
                        ? new DenseLinear(m, concat(projections.stream().map(p -> b.linear(p).dequantize()).toArray(float[][]::new)),
                                projections.stream().mapToInt(p -> p.outFeatures(c)).sum(), projections.get(0).inFeatures(c), denseCopies)
                        : compressedLinear(m, projections.stream().map(b::linear).toList(), scratch, threads);
                blocks.add(new Block(shared.attentionNorm(), stacked.apply(List.of(Projection.Q, Projection.K, Projection.V)),
                        stacked.apply(List.of(Projection.O)), shared.ffnNorm(), stacked.apply(List.of(Projection.GATE, Projection.UP)),
                        stacked.apply(List.of(Projection.DOWN))));
            }
            return new LlamaWeights(c, m, base.tokenEmbedding, blocks, base.finalNorm, base.classifier, threads, hostCopies);
        } catch (RuntimeException e) {
            m.close();
            if (threads != null) {
                threads.close();
            }
            throw e;
        }
    }

    private static void requireEqual(float[] base, float[] merged, String what) {
        if (!java.util.Arrays.equals(base, merged)) {
            throw new IllegalArgumentException("the merged model's " + what + " differs from the base's (merges change block linears only)");
        }
    }

    /** Bytes resident in this model's own arrays, not counting what it shares with {@code base}. */
    public long bytesOwnedBeyond(LlamaWeights base) {
        return base == this ? bytesResident() : linearBytesResident();
    }

    /** Uploads dense parameters into a new child manager of {@code parent}, without host decoding. */
    public static LlamaWeights upload(DenseParameters p, NDManager parent) {
        return upload(p, parent, DecodePath.BACKEND);
    }

    /**
     * Uploads dense parameters into a new child manager of {@code parent}; a host decode path (on the
     * CPU) also keeps every linear's weights in Java arrays for {@link HostDecoder} (fp32: twice the
     * memory; bf16: 1.5 times).
     */
    public static LlamaWeights upload(DenseParameters p, NDManager parent, DecodePath path) {
        ModelConfig c = p.config();
        NDManager m = parent.newSubManager();
        KernelThreads threads = path != DecodePath.BACKEND && !m.getDevice().isGpu() ? KernelThreads.like(m) : null;
        HostCopies copies = threads == null ? null : new HostCopies(threads, path == DecodePath.HOST_BF16);
        int dim = c.hiddenSize();
        int kv = c.kvDim();
        int ff = c.intermediateSize();
        float eps = c.rmsNormEps();
        List<Block> blocks = new ArrayList<>();
        for (DenseParameters.Layer l : p.layers()) {
            blocks.add(new Block(
                    new RmsNorm(m, l.attentionNorm(), eps),
                    new DenseLinear(m, concat(l.query(), l.key(), l.value()), dim + 2 * kv, dim, copies),
                    new DenseLinear(m, l.output(), dim, dim, copies),
                    new RmsNorm(m, l.ffnNorm(), eps),
                    new DenseLinear(m, concat(l.gate(), l.up()), 2 * ff, dim, copies),
                    new DenseLinear(m, l.down(), dim, ff, copies)));
        }
        NDArray embedding = m.create(p.tokenEmbedding(), new Shape(c.vocabSize(), dim));
        LinearLayer classifier = classifier(m, embedding, p.tokenEmbedding(), p.classifier(), c, copies);
        return new LlamaWeights(c, m, embedding, blocks, p.finalNorm(), classifier, threads, copies);
    }

    /** The classifier: the embedding's own array when tied; with {@code hostCopies}, also kept on the host. */
    private static LinearLayer classifier(NDManager m, NDArray embedding, float[] embeddingData, float[] classifierData, ModelConfig c,
            HostCopies copies) {
        if (classifierData != embeddingData) {
            return new DenseLinear(m, classifierData, c.vocabSize(), c.hiddenSize(), copies);
        }
        return new DenseLinear(embedding, copies == null ? null : copies.of(embeddingData, c.vocabSize(), c.hiddenSize()));
    }

    /** Row-major [out_i, in] weights stacked along out. */
    private static float[] concat(float[]... weights) {
        float[] all = new float[java.util.Arrays.stream(weights).mapToInt(w -> w.length).sum()];
        int at = 0;
        for (float[] w : weights) {
            System.arraycopy(w, 0, all, at, w.length);
            at += w.length;
        }
        return all;
    }

    /**
     * Uploads a compressed model: block linears stay compressed. On the CPU, sparse INT4 linears
     * reading one input are stacked and multiplied by {@link SparseInt4Linear}'s kernel straight from
     * the kept codes; other formats (and other devices) are dequantized per call.
     */
    public static LlamaWeights upload(CompressedParameters p, NDManager parent) {
        return upload(p, parent, DecodePath.BACKEND);
    }

    /** As above; a host decode path (on the CPU) also keeps the classifier in a Java array for {@link HostDecoder}. */
    public static LlamaWeights upload(CompressedParameters p, NDManager parent, DecodePath path) {
        ModelConfig c = p.config();
        NDManager m = parent.newSubManager();
        DequantScratch scratch = new DequantScratch(m);
        KernelThreads threads = m.getDevice().isGpu() ? null : KernelThreads.like(m);
        HostCopies copies = threads == null || path == DecodePath.BACKEND ? null : new HostCopies(threads, path == DecodePath.HOST_BF16);
        try {
            float eps = c.rmsNormEps();
            List<Block> blocks = new ArrayList<>();
            for (CompressedParameters.Block b : p.blocks()) {
                Function<List<Projection>, LinearLayer> linear = projections -> compressedLinear(m,
                        projections.stream().map(b::linear).toList(), scratch, threads);
                blocks.add(new Block(new RmsNorm(m, b.attentionNorm(), eps), linear.apply(List.of(Projection.Q, Projection.K, Projection.V)),
                        linear.apply(List.of(Projection.O)), new RmsNorm(m, b.ffnNorm(), eps),
                        linear.apply(List.of(Projection.GATE, Projection.UP)), linear.apply(List.of(Projection.DOWN))));
            }
            NDArray embedding = m.create(p.tokenEmbedding(), new Shape(c.vocabSize(), c.hiddenSize()));
            LinearLayer classifier = classifier(m, embedding, p.tokenEmbedding(), p.tied() ? p.tokenEmbedding() : p.classifier(), c, copies);
            return new LlamaWeights(c, m, embedding, blocks, p.finalNorm(), classifier, threads, copies);
        } catch (RuntimeException e) {
            m.close();
            if (threads != null) {
                threads.close();
            }
            throw e;
        }
    }

    /** The matrices (same input) as one linear; sparse INT4 on the CPU ({@code threads} given) by the kernel. */
    private static LinearLayer compressedLinear(NDManager m, List<CompressedMatrix> parts, DequantScratch scratch, KernelThreads threads) {
        if (threads != null && parts.stream().allMatch(q -> q instanceof QuantizedMatrix qm && qm.spec().bits() == 4)) {
            return new SparseInt4Linear(SparseInt4Matrix.stack(parts.stream().map(QuantizedMatrix.class::cast).toList()), threads);
        }
        List<LinearLayer> layers = parts.stream().map(matrix -> compressedLinear(m, matrix, scratch)).toList();
        return layers.size() == 1 ? layers.get(0) : new StackedLinear(layers);
    }

    private static LinearLayer compressedLinear(NDManager m, CompressedMatrix matrix, DequantScratch scratch) {
        if (matrix instanceof QuantizedMatrix q) {
            return new QuantizedLinear(m, q, scratch);
        }
        if (matrix instanceof BinaryCodedMatrix bcq) {
            return new BinaryCodedLinear(m, bcq);
        }
        return new DenseLinear(m, matrix.dequantize(), matrix.rows(), matrix.cols());
    }

    /** Bytes of the block linears (all seven projections) of every block: on the device and in any Java copies for host decoding. */
    public long linearBytesResident() {
        long total = 0;
        for (Block b : blocks) {
            for (LinearLayer l : b.linears()) {
                total += l.bytesResident();
            }
        }
        return total;
    }

    /** Bytes resident for all weights, Java copies for host decoding included; a tied classifier shares the embedding's device array. */
    public long bytesResident() {
        long total = tokenEmbedding.getShape().size() * Float.BYTES + finalNorm.bytesResident();
        if (!classifierSharesEmbedding()) {
            total += classifier.bytesResident();
        } else if (classifier.onHost() != null) {
            total += classifier.onHost().bytes(); // the embedding's host copy is the classifier's own
        }
        for (Block b : blocks) {
            total += b.attentionNorm.bytesResident() + b.ffnNorm.bytesResident();
            for (LinearLayer l : b.linears()) {
                total += l.bytesResident();
            }
        }
        return total;
    }

    /** Whether the weights are also kept for the host decode path. */
    boolean hostDecoding() {
        return hostCopies != null;
    }

    public boolean classifierSharesEmbedding() {
        return classifier instanceof DenseLinear d && d.weight() == tokenEmbedding;
    }

    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
        if (threads != null) {
            threads.close();
        }
    }
}
