package dev.chorus.engine.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.chorus.engine.EngineException;
import dev.chorus.engine.checkpoint.Checkpoint;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.CompressedCheckpoint;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.checkpoint.Llama2cCheckpoint;
import dev.chorus.engine.compressed.CompressedParameters;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.llama.RopeStyle;
import dev.chorus.engine.tokenizer.Tokenizer;
import dev.chorus.engine.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A model ready to run: weights on the device, its tokenizer (absent for bare synthetic
 * checkpoints) and the token ids that end a sequence.
 */
public final class LoadedModel implements AutoCloseable {
    private final String name;
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Set<Integer> stopTokens;
    private final NDManager root;

    private LoadedModel(String name, LlamaModel model, Tokenizer tokenizer, Set<Integer> stopTokens, NDManager root) {
        this.name = name;
        this.model = model;
        this.tokenizer = tokenizer;
        this.stopTokens = stopTokens;
        this.root = root;
    }

    /**
     * Loads a compressed checkpoint directory, a Hugging Face directory (config.json) or a llama2.c
     * .bin file, auto-detected. The tokenizer is {@code tokenizer} when given, else tokenizer.json or
     * tokenizer.bin in the directory, else tokenizer.bin or tok512.bin beside the .bin.
     */
    public static LoadedModel load(Path path, Optional<Path> tokenizer, String deviceName) {
        return load(path, tokenizer, deviceName, DecodePath.HOST);
    }

    /**
     * As above, decoding on {@code decodePath}. A host path on the CPU keeps the dense weights also in
     * Java arrays (all of them for a dense model, the classifier for a compressed one); when that copy
     * would take more than a quarter of the Java heap the model decodes on the backend instead.
     */
    public static LoadedModel load(Path path, Optional<Path> tokenizer, String deviceName, DecodePath decodePath) {
        Checkpoint checkpoint = Checkpoints.open(path);
        Device device = device(deviceName);
        ModelConfig config;
        Function<NDManager, LlamaWeights> upload;
        boolean host = decodePath != DecodePath.BACKEND && !device.isGpu();
        int bytesPerCopy = decodePath == DecodePath.HOST_BF16 ? 2 : 4;
        if (checkpoint instanceof Checkpoint.Compressed compressedCheckpoint) {
            CompressedParameters compressed = compressedCheckpoint.read();
            config = compressed.config();
            boolean fits = host && (long) bytesPerCopy * config.vocabSize() * config.hiddenSize() <= Runtime.getRuntime().maxMemory() / 4;
            upload = m -> LlamaWeights.upload(compressed, m, fits ? decodePath : DecodePath.BACKEND);
        } else {
            DenseParameters dense = checkpoint.dense();
            config = dense.config();
            boolean fits = host && bytesPerCopy * linearParameters(config) <= Runtime.getRuntime().maxMemory() / 4;
            upload = m -> LlamaWeights.upload(dense, m, fits ? decodePath : DecodePath.BACKEND);
        }
        if (tokenizer.isPresent() && !Files.isRegularFile(tokenizer.get())) {
            throw new CheckpointFormatException(tokenizer.get() + ": tokenizer file not found");
        }
        Tokenizer tok = tokenizer.or(checkpoint::tokenizerFile).map(f -> Tokenizers.open(f, config.vocabSize())).orElse(null);
        // llama2.c ends a story by starting the next one with BOS; treat that as the end too.
        Set<Integer> stops = config.ropeStyle() == RopeStyle.INTERLEAVED ? Set.of(config.eosId(), config.bosId()) : Set.of(config.eosId());
        NDManager root = NDManager.newBaseManager(device);
        try {
            LlamaModel model = new LlamaModel(upload.apply(root));
            return new LoadedModel(path.getFileName().toString(), model, tok, stops, root);
        } catch (RuntimeException e) {
            root.close();
            if (tok != null) {
                tok.close();
            }
            throw e;
        }
    }

    /** Parameters of every block linear and the classifier. */
    private static long linearParameters(ModelConfig c) {
        long block = Arrays.stream(Projection.values()).mapToLong(p -> (long) p.outFeatures(c) * p.inFeatures(c)).sum();
        return c.numLayers() * block + (long) c.vocabSize() * c.hiddenSize();
    }

    private static Device device(String name) {
        try {
            Device d = Device.fromName(name);
            if (d.isGpu() && ai.djl.engine.Engine.getInstance().getGpuCount() <= d.getDeviceId()) {
                throw new EngineException("device " + name + " requested but no such GPU is available");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new EngineException("unknown device '" + name + "' (use cpu, gpu or gpu0, gpu1, ...)");
        }
    }

    public String name() {
        return name;
    }

    public LlamaModel model() {
        return model;
    }

    public ModelConfig config() {
        return model.config();
    }

    public Optional<Tokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** The tokenizer, or a clear error for checkpoints that came without one. */
    public Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new CheckpointFormatException(name + ": no tokenizer found; pass --tokenizer");
        }
        return tokenizer;
    }

    public Set<Integer> stopTokens() {
        return stopTokens;
    }

    public NDManager manager() {
        return root;
    }

    @Override
    public void close() {
        root.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
