package dev.chorus.engine.compress;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.compressed.CompressedMatrix;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.CompressionManifest;
import dev.chorus.engine.compressed.MaskedMatrix;
import dev.chorus.engine.compressed.QuantSpec;
import dev.chorus.engine.compressed.SparsityMask;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.llama.ReferenceLlama;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Compresses a dense model block by block, as SparseGPT/Wanda do: the calibration sequences flow
 * through the already-compressed blocks, so each block is pruned (and repaired, and quantized) on
 * the activations it will really see. Order per block: Wanda/magnitude masks → optional EBFT
 * repair → quantization; all steps keep the mask.
 */
public final class Compressor {
    private final DenseParameters dense;
    private final CompressionSettings settings;
    private final CompressionListener listener;

    public Compressor(DenseParameters dense, CompressionSettings settings, CompressionListener listener) {
        this.dense = dense;
        this.settings = settings;
        this.listener = listener;
    }

    /** @param calibration token sequences, all of the same length */
    public CompressedParameters compress(List<int[]> calibration, String sourceFingerprint, String calibrationLabel, NDManager manager) {
        ModelConfig c = dense.config();
        ReferenceLlama reference = new ReferenceLlama(dense);
        List<float[][]> stream = new ArrayList<>();
        for (int[] tokens : calibration) {
            stream.add(reference.embed(tokens));
        }
        int blocks = c.numLayers();
        List<CompressedParameters.Block> out = new ArrayList<>();
        long[] keptAndAll = new long[2];
        for (int i = 0; i < blocks; i++) {
            CompressedParameters.Block block = compressBlock(i, reference, stream, keptAndAll, manager);
            out.add(block);
            DenseParameters.Layer served = block.dequantized(); // what the next block will really see
            for (int s = 0; s < stream.size(); s++) {
                stream.set(s, reference.block(i, served, stream.get(s), null));
            }
        }
        listener.onStep(blocks, blocks, "done");
        double sparsity = 1.0 - (double) keptAndAll[0] / keptAndAll[1];
        return new CompressedParameters(c, dense.tokenEmbedding(), dense.classifier(), dense.finalNorm(), out,
                manifest(sparsity, sourceFingerprint, calibrationLabel));
    }

    /** Prunes, optionally repairs, and quantizes block {@code i} on the stream of its inputs; counts kept and all weights. */
    private CompressedParameters.Block compressBlock(int i, ReferenceLlama reference, List<float[][]> stream, long[] keptAndAll,
            NDManager manager) {
        ModelConfig c = dense.config();
        int blocks = c.numLayers();
        DenseParameters.Layer layer = dense.layers().get(i);
        listener.onStep(i, blocks, "calibrating");
        ActivationStats stats = new ActivationStats(settings.needsGram());
        for (float[][] hidden : stream) {
            reference.block(i, layer, hidden, stats);
        }
        listener.onStep(i, blocks, "pruning (" + settings.method().label() + ")");
        Map<Projection, SparsityMask> masks = new EnumMap<>(Projection.class);
        DenseParameters.Layer sparse = layer;
        for (Projection p : Projection.values()) {
            float[] w = p.of(layer);
            SparsityMask mask = prune(w, p.outFeatures(c), p.inFeatures(c), stats.inputNorms(p));
            float[] pruned = w.clone();
            mask.apply(pruned);
            masks.put(p, mask);
            sparse = p.with(sparse, pruned);
            keptAndAll[0] += mask.keptCount();
            keptAndAll[1] += (long) p.outFeatures(c) * p.inFeatures(c);
        }
        if (settings.repair().isPresent()) {
            listener.onStep(i, blocks, "EBFT repair");
            List<float[]> inputs = new ArrayList<>();
            for (float[][] hidden : stream) {
                inputs.add(flatten(hidden));
            }
            EbftRepair.Result repaired = EbftRepair.repair(c, layer, sparse, masks, inputs, stream.get(0).length, settings.repair().get(),
                    manager);
            sparse = repaired.repaired();
            listener.onBlockRepaired(i, repaired.mseBefore(), repaired.mseAfter());
        }
        listener.onStep(i, blocks, "quantizing");
        Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
        for (Projection p : Projection.values()) {
            linears.put(p, quantize(p.of(sparse), p.outFeatures(c), p.inFeatures(c), masks.get(p), stats, p));
        }
        return new CompressedParameters.Block(layer.attentionNorm(), layer.ffnNorm(), linears);
    }

    private SparsityMask prune(float[] w, int rows, int cols, double[] inputNorms) {
        return switch (settings.method()) {
            case WANDA -> Pruner.wanda(w, rows, cols, inputNorms, settings.pattern());
            case MAGNITUDE -> Pruner.magnitude(w, rows, cols, settings.pattern());
        };
    }

    private CompressionManifest manifest(double sparsity, String sourceFingerprint, String calibrationLabel) {
        QuantSpec q = settings.quantization() instanceof Quantization.GroupWise g ? g.spec() : null;
        Integer bcqPlanes = settings.quantization() instanceof Quantization.BinaryCoding b ? b.planes() : null;
        return new CompressionManifest(CompressionManifest.FORMAT_VERSION, settings.pattern().toString(), sparsity,
                q == null ? null : q.bits(), q == null ? null : q.groupSize(), q == null ? null : q.symmetric(), settings.method().label(),
                settings.needsGram(), settings.repair().isPresent(), bcqPlanes, sourceFingerprint, calibrationLabel);
    }

    private CompressedMatrix quantize(float[] w, int rows, int cols, SparsityMask mask, ActivationStats stats, Projection p) {
        Quantization q = settings.quantization();
        if (q instanceof Quantization.BinaryCoding b) {
            return BinaryCodingQuantizer.quantize(w, rows, cols, mask, b.planes(), 10);
        }
        if (q instanceof Quantization.GroupWise g) {
            return g.gptq()
                    ? GptqQuantizer.quantize(w, rows, cols, mask, g.spec(), stats.gram(p), 0.01)
                    : GroupQuantizer.quantize(w, rows, cols, mask, g.spec());
        }
        return new MaskedMatrix(rows, cols, w, mask);
    }

    private static float[] flatten(float[][] rows) {
        int width = rows[0].length;
        float[] out = new float[rows.length * width];
        for (int t = 0; t < rows.length; t++) {
            System.arraycopy(rows[t], 0, out, t * width, width);
        }
        return out;
    }
}
