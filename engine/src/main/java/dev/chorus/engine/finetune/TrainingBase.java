package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.tokenizer.ChatTemplate;
import dev.chorus.engine.tokenizer.ModelChatTemplate;
import dev.chorus.engine.tokenizer.Tokenizer;
import dev.chorus.engine.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A frozen base checkpoint as fine-tuning needs it: its parameters, tokenizer, fingerprint, chat
 * template and (read on first use, only by the SQFT kinds) the compressed base's masks and grids.
 * Immutable and shareable between jobs; each job trains in managers of its own.
 */
public final class TrainingBase implements AutoCloseable {
    private final Path path;
    private final DenseParameters parameters;
    private final Tokenizer tokenizer;
    private final String fingerprint;
    private final Optional<ModelChatTemplate> chatTemplate;
    private final Supplier<FrozenLinears> frozen;
    private FrozenLinears frozenLinears; // read once, on first demand

    private TrainingBase(Path path, DenseParameters parameters, Tokenizer tokenizer, String fingerprint,
            Optional<ModelChatTemplate> chatTemplate) {
        this.path = path;
        this.parameters = parameters;
        this.tokenizer = tokenizer;
        this.fingerprint = fingerprint;
        this.chatTemplate = chatTemplate;
        this.frozen = this::frozenLinears;
    }

    /** The checkpoint at {@code path} (compressed, Hugging Face or llama2.c); it must come with a tokenizer. */
    public static TrainingBase open(Path path) {
        Checkpoint checkpoint = Checkpoints.open(path);
        DenseParameters parameters = checkpoint.dense();
        Path tokenizerFile = checkpoint.tokenizerFile()
                .orElseThrow(() -> new CheckpointFormatException(path + ": no tokenizer beside the checkpoint; training needs one"));
        Tokenizer tokenizer = Tokenizers.open(tokenizerFile, parameters.config().vocabSize());
        try {
            return new TrainingBase(path, parameters, tokenizer, Fingerprint.of(path), ModelChatTemplate.load(path));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return parameters.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The base's fingerprint, which every adapter trained on it records. */
    public String fingerprint() {
        return fingerprint;
    }

    /** The prompt text of chat {@code messages}, exactly as serving renders it. */
    public String prompt(List<ChatTemplate.Message> messages) {
        return ModelChatTemplate.prompt(messages, chatTemplate);
    }

    /** An adapter's PEFT files, checked against this base (shapes, rank up to {@code maxRank}, fingerprint). */
    public Adapter readAdapter(Path dir, int maxRank) {
        return AdapterFiles.read(dir, config(), maxRank, fingerprint);
    }

    /** A trainer for {@code run}, starting from {@code init} (null: a fresh adapter of the run's kind). */
    public AdapterTrainer trainer(TrainingRun run, Optimization optimization, Adapter init, NDManager parent) {
        return new AdapterTrainer(parameters, frozen, tokenizer, config().eosId(), run, optimization, init, fingerprint, parent,
                DataType.FLOAT32);
    }

    /** Mean negative log-likelihood per completion token of {@code data} with {@code adapter} (null: the base alone). */
    public double loss(Adapter adapter, List<TrainingExample> data, NDManager parent) {
        return AdapterTrainer.evaluate(parameters, frozen, tokenizer, config().eosId(), adapter, data, parent);
    }

    /** Mean log π(chosen) − log π(rejected) over {@code pairs} with {@code adapter} (null: the base alone). */
    public double preferenceMargin(Adapter adapter, List<PreferenceExample> pairs, NDManager parent) {
        return AdapterTrainer.preferenceMargin(parameters, frozen, tokenizer, config().eosId(), adapter, pairs, parent);
    }

    /**
     * Folds {@code adapter} into this compressed base by its kind's exact merge and writes the
     * result to {@code dir} as {@code chorus merge} does (with the base's tokenizer files); a dense
     * base or a kind served unmerged refuses ({@link InvalidRequestException},
     * {@link dev.chorus.engine.adapter.UnmergeableAdapterException}).
     */
    public void writeMerged(Adapter adapter, Path dir) {
        CompressedCheckpoint.write(AdapterMerge.merge(frozenLinears(), adapter), dir, Checkpoints.open(path).companionFiles());
    }

    private synchronized FrozenLinears frozenLinears() {
        if (frozenLinears == null) {
            try {
                frozenLinears = FrozenLinears.read(path);
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException(e.getMessage());
            }
        }
        return frozenLinears;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
