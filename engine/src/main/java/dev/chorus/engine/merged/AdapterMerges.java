package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterSource;
import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.compressed.QuantizedMatrix;
import dev.chorus.engine.llama.DenseParameters;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * Merged models made here from adapter versions and a host copy of the served base, with the
 * kinds' exact merges: on a dense base lora (W + s·BA) and scale (α into the rows); on a
 * group-quantized base qa-lora and qa-hira (into the zero points) and scale (into the scales), and
 * sparse-peft / qa-sparse-peft, which run merged only.
 */
public final class AdapterMerges implements MergedModels {
    private final FrozenLinears compressed; // null on a dense base
    private final DenseParameters dense; // null on a compressed base
    private final boolean quantized;
    private final String fingerprint;
    private final AdapterSource source;
    private final Function<AdapterKey, Optional<AdapterType>> types;

    private AdapterMerges(FrozenLinears compressed, DenseParameters dense, String fingerprint, AdapterSource source,
            Function<AdapterKey, Optional<AdapterType>> types) {
        this.compressed = compressed;
        this.dense = dense;
        this.quantized = compressed != null && compressed.base().blocks().get(0).linears().values().stream()
                .allMatch(QuantizedMatrix.class::isInstance);
        this.fingerprint = fingerprint;
        this.source = source;
        this.types = types;
    }

    /** Over the checkpoint at {@code base} (read once, kept on the host); {@code types} knows each version's kind without loading it. */
    public static AdapterMerges of(Path base, AdapterSource source, Function<AdapterKey, Optional<AdapterType>> types) {
        Checkpoint checkpoint = Checkpoints.open(base);
        String fingerprint = Fingerprint.of(base);
        return checkpoint instanceof Checkpoint.Compressed ? new AdapterMerges(FrozenLinears.read(base), null, fingerprint, source, types)
                : new AdapterMerges(null, checkpoint.dense(), fingerprint, source, types);
    }

    @Override
    public Form form(AdapterKey key) {
        return types.apply(key).map(this::formOf).orElse(Form.UNMERGED);
    }

    /** Which kinds merge exactly into this base (the merges themselves stay with the kinds). */
    private Form formOf(AdapterType type) {
        return switch (type) {
            case LORA -> dense != null ? Form.MERGEABLE : Form.UNMERGED;
            case QA_LORA, QA_HIRA -> quantized ? Form.MERGEABLE : Form.UNMERGED;
            case SCALE -> dense != null || quantized ? Form.MERGEABLE : Form.UNMERGED;
            case SPARSE_PEFT, QA_SPARSE_PEFT -> compressed != null ? Form.MERGED_ONLY : Form.UNMERGED;
        };
    }

    @Override
    public CompressedParameters merged(AdapterKey key) {
        Adapter adapter = source.load(key);
        return compressed != null ? adapter.kind().merge(adapter, compressed) : adapter.kind().mergeDense(adapter, dense, fingerprint);
    }
}
