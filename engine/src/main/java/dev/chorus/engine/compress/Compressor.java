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
        double keptWeights = 0;
        double allWeights = 0;
        for (int i = 0; i < blocks; i++) {
            DenseParameters.Layer layer = dense.layers().get(i);
            listener.onStep(i, blocks, "calibrating");
            ActivationStats stats = new ActivationStats(settings.gptq());
            for (float[][] hidden : stream) {
                reference.block(i, layer, hidden, stats);
            }
            listener.onStep(i, blocks, "pruning (" + settings.method() + ")");
            Map<Projection, SparsityMask> masks = new EnumMap<>(Projection.class);
            DenseParameters.Layer sparse = layer;
            for (Projection p : Projection.values()) {
                int rows = p.outFeatures(c);
                int cols = p.inFeatures(c);
                float[] w = p.of(layer);
                SparsityMask mask = settings.wanda()
                        ? Pruner.wanda(w, rows, cols, stats.inputNorms(p), settings.pattern())
                        : Pruner.magnitude(w, rows, cols, settings.pattern());
                float[] pruned = w.clone();
                mask.apply(pruned);
                masks.put(p, mask);
                sparse = p.with(sparse, pruned);
                keptWeights += mask.keptCount();
                allWeights += (double) rows * cols;
            }
            if (settings.ebft()) {
                listener.onStep(i, blocks, "EBFT repair");
                List<float[]> inputs = new ArrayList<>();
                for (float[][] hidden : stream) {
                    inputs.add(flatten(hidden));
                }
                EbftRepair.Result repaired = EbftRepair.repair(c, layer, sparse, masks, inputs, stream.get(0).length, settings.ebftSettings(),
                        manager);
                sparse = repaired.repaired();
                listener.onBlockRepaired(i, repaired.mseBefore(), repaired.mseAfter());
            }
            listener.onStep(i, blocks, "quantizing");
            Map<Projection, CompressedMatrix> linears = new EnumMap<>(Projection.class);
            for (Projection p : Projection.values()) {
                linears.put(p, quantize(p.of(sparse), p.outFeatures(c), p.inFeatures(c), masks.get(p), stats, p));
            }
            CompressedParameters.Block block = new CompressedParameters.Block(layer.attentionNorm(), layer.ffnNorm(), linears);
            out.add(block);
            DenseParameters.Layer served = block.dequantized(); // what the next block will really see
            for (int s = 0; s < stream.size(); s++) {
                stream.set(s, reference.block(i, served, stream.get(s), null));
            }
        }
        listener.onStep(blocks, blocks, "done");
        QuantSpec q = settings.quantization();
        CompressionManifest manifest = new CompressionManifest(CompressionManifest.FORMAT_VERSION, settings.pattern().toString(),
                1.0 - keptWeights / allWeights, q == null ? null : q.bits(), q == null ? null : q.groupSize(), q == null ? null : q.symmetric(),
                settings.method(), settings.gptq(), settings.ebft(), settings.bcqPlanes() > 0 ? settings.bcqPlanes() : null, sourceFingerprint,
                calibrationLabel);
        return new CompressedParameters(c, dense.tokenEmbedding(), dense.classifier(), dense.finalNorm(), out, manifest);
    }

    private CompressedMatrix quantize(float[] w, int rows, int cols, SparsityMask mask, ActivationStats stats, Projection p) {
        if (settings.bcqPlanes() > 0) {
            return BinaryCodingQuantizer.quantize(w, rows, cols, mask, settings.bcqPlanes(), 10);
        }
        if (settings.quantization() == null) {
            return new MaskedMatrix(rows, cols, w, mask);
        }
        return settings.gptq()
                ? GptqQuantizer.quantize(w, rows, cols, mask, settings.quantization(), stats.gram(p), 0.01)
                : GroupQuantizer.quantize(w, rows, cols, mask, settings.quantization());
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
