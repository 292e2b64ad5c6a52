package dev.chorus.serving.model;

import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.adapter.AdapterStore;
import dev.chorus.engine.adapter.DirectoryAdapterSource;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.generation.EngineStats;
import dev.chorus.engine.generation.Variants;
import dev.chorus.engine.merged.AdapterMerges;
import dev.chorus.engine.merged.MergeSettings;
import dev.chorus.engine.llama.Projection;
import dev.chorus.engine.model.DecodePath;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.tokenizer.ModelChatTemplate;
import dev.chorus.engine.tokenizer.Tokenizer;
import dev.chorus.edge.auth.TenantKeys;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import dev.chorus.serving.ChorusConfig;
import dev.chorus.serving.adapters.BlobCache;
import dev.chorus.serving.adapters.RegistryAdapters;
import dev.chorus.serving.adapters.ServedMerges;
import dev.chorus.serving.ops.MergeDecisions;
import dev.chorus.serving.ops.AdapterLoadTimer;
import dev.chorus.serving.ops.EngineStatsSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Provider;
import java.net.URI;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Owns the served model and its engine loop: loads them on a background thread after startup (so
 * the HTTP server and health endpoints answer while weights load) and closes them on shutdown.
 */
@ApplicationScoped
public class ModelService implements EngineStatsSource {
    private static final Logger LOG = Logger.getLogger(ModelService.class);

    private final ChorusConfig.Model modelConfig;
    private final ChorusConfig.Engine engineConfig;
    private final ChorusConfig.Adapters adapterConfig;
    private final AdapterLoadTimer loadTimer;
    private final ChorusConfig.Merged mergedConfig;
    private final MergeDecisions mergeDecisions;
    private final Object lock = new Object();
    private volatile ServedModel served;
    private volatile String failure;
    private boolean stopped; // guarded by lock

    private final int httpPort;

    private final Provider<KafkaConnection> kafka; // only with adapters from the registry
    private final TopicNames topics;

    public ModelService(ChorusConfig config, AdapterLoadTimer loadTimer, MergeDecisions mergeDecisions,
            @ConfigProperty(name = "quarkus.http.port") int httpPort, Provider<KafkaConnection> kafka, TopicNames topics) {
        this.mergedConfig = config.merged();
        this.mergeDecisions = mergeDecisions;
        this.kafka = kafka;
        this.topics = topics;
        this.modelConfig = config.model();
        this.engineConfig = config.engine();
        this.adapterConfig = config.adapters();
        this.loadTimer = loadTimer;
        this.httpPort = httpPort;
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(this::load, "chorus-model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        ServedModel current;
        synchronized (lock) {
            stopped = true;
            current = served;
            served = null;
        }
        if (current != null) {
            close(current);
        }
    }

    private void load() {
        long started = System.nanoTime();
        Path path = Path.of(modelConfig.path());
        LOG.infof("loading model %s on %s", path.toAbsolutePath().normalize(), modelConfig.device());
        ServedModel loaded;
        try {
            loaded = open(path);
        } catch (RuntimeException | LinkageError e) { // LinkageError: the native engine failed to load
            failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            LOG.errorf(e, "model %s failed to load", path);
            return;
        }
        synchronized (lock) {
            if (!stopped) {
                served = loaded;
                LOG.infof("model %s ready in %d ms (context %d tokens, max batch %d)", loaded.name(),
                        (System.nanoTime() - started) / 1_000_000, loaded.engine().contextLength(), engineConfig.maxBatch());
                LOG.infof("try: curl -N http://localhost:%d/v1/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
                        + "-d '{\"prompt\": \"Once upon a time\", \"max_tokens\": 64, \"stream\": true}'", httpPort, TenantKeys.DEMO_KEY);
                return;
            }
        }
        close(loaded); // shut down while we were loading
    }

    private ServedModel open(Path path) {
        LoadedModel model = LoadedModel.load(path, modelConfig.tokenizer().map(Path::of), modelConfig.device(),
                DecodePath.valueOf(modelConfig.decodePath().name()));
        try {
            Tokenizer tokenizer = model.requireTokenizer(); // text prompts need one; fail at load, not per request
            String fingerprint = Fingerprint.of(path);
            AdapterStore adapters = adapterStore(model, fingerprint);
            try {
                AdapterRuntime runtime = new AdapterRuntime(model, slotSettings(), adapterConfig.maxCpuLoras(), adapters, null);
                runtime.onLoadLatency((key, nanos) -> loadTimer.record(nanos));
                EngineLoop engine = new EngineLoop(model, new EngineLoop.Settings(engineConfig.maxBatch(), engineConfig.maxWaiting(),
                        engineConfig.prefillBudget(), Math.max(1, engineConfig.maxBatch() - engineConfig.reservedSlots()),
                        engineConfig.tenantPrefillBudget()), runtime, variants(path, adapters, fingerprint));
                adapters.subscribe(engine.adapterChanges()); // a new active version is prefetched, the old one retired
                long maxPromptChars = (long) engine.contextLength() * tokenizer.longestTokenChars();
                return new ServedModel(model, engine, tokenizer, adapters, ModelChatTemplate.load(path), maxPromptChars);
            } catch (RuntimeException e) {
                closeAdapters(adapters);
                throw e;
            }
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The adapter catalogue and source in one: a local directory, or the registry's topic and blobs. */
    private AdapterStore adapterStore(LoadedModel model, String fingerprint) {
        if (adapterConfig.source() == ChorusConfig.Adapters.Source.DIRECTORY) {
            Path dir = Path.of(adapterConfig.directory());
            LOG.infof("adapters from %s (up to %d resident, rank <= %d)", dir.toAbsolutePath().normalize(), adapterConfig.maxLoras(),
                    adapterConfig.maxRank());
            return new DirectoryAdapterSource(dir, model.config(), adapterConfig.maxRank(), fingerprint);
        }
        URI registry = URI.create(adapterConfig.registryUrl().orElseThrow(() -> new IllegalArgumentException(
                "chorus.adapters.source=registry needs chorus.adapters.registry-url")));
        String key = adapterConfig.registryKey().orElseThrow(() -> new IllegalArgumentException(
                "chorus.adapters.source=registry needs chorus.adapters.registry-key (an operator key of the registry)"));
        BlobCache cache = new BlobCache(Path.of(adapterConfig.cacheDirectory()), registry, key);
        return new RegistryAdapters(kafka.get(), topics, cache, model.config(), adapterConfig.maxRank(), fingerprint);
    }

    /**
     * Merged variants when adapters come from the registry (its catalogue says which versions have a
     * merged model and which kinds they are); none for a local directory.
     */
    private Variants variants(Path path, AdapterStore adapters, String fingerprint) {
        if (!(adapters instanceof RegistryAdapters registry) || mergedConfig.maxModels() == 0) {
            return null;
        }
        MergeSettings settings = new MergeSettings(mergedConfig.maxModels(), mergedConfig.maxBytes(), mergedConfig.dynamic(),
                mergedConfig.mergeAt(), mergedConfig.stayAt(), mergedConfig.mergeShare(), mergedConfig.stayShare(), mergedConfig.window(),
                mergedConfig.starvationReserve());
        AdapterMerges dynamic = settings.dynamic() ? AdapterMerges.of(path, registry, key -> ServedMerges.type(registry, key)) : null;
        LOG.infof("merged variants: up to %d models, %d bytes; dynamic merge %s (merge at %.2f x batch and %.2f of requests, stay while "
                + "%.2f x and %.2f, window %s)", settings.maxModels(), settings.maxBytes(), settings.dynamic() ? "on" : "off", settings.mergeAt(),
                settings.mergeShare(), settings.stayAt(), settings.stayShare(), settings.window());
        return new Variants(ServedMerges.of(registry, fingerprint, dynamic), settings, mergeDecisions);
    }

    private static void closeAdapters(AdapterStore adapters) {
        try {
            adapters.close();
        } catch (Exception e) {
            LOG.warnf("closing the adapter catalogue failed: %s", e.getMessage());
        }
    }

    private AdapterSlots.Settings slotSettings() {
        Set<Projection> targets = EnumSet.noneOf(Projection.class);
        targets.addAll(adapterConfig.targetModules());
        return new AdapterSlots.Settings(adapterConfig.maxLoras(), adapterConfig.maxRank(), targets,
                AdapterSlots.Storage.valueOf(adapterConfig.slotStorage().name()));
    }

    private static void close(ServedModel model) {
        try {
            model.engine().close();
        } finally {
            closeAdapters(model.adapters());
            model.model().close();
        }
    }

    /** The model when it is ready to take requests. */
    public Optional<ServedModel> served() {
        return Optional.ofNullable(served);
    }

    /** The name clients use in {@code model}; known before loading finishes. */
    public String modelName() {
        ServedModel current = served;
        if (current != null) {
            return current.name();
        }
        Path file = Path.of(modelConfig.path()).getFileName();
        return file == null ? modelConfig.path() : file.toString();
    }

    /** Why requests cannot be served right now; null once the model is ready. */
    public String unavailableReason() {
        if (served != null) {
            return null;
        }
        String error = failure;
        if (error != null) {
            return "model " + modelName() + " failed to load: " + error;
        }
        synchronized (lock) {
            return stopped ? "the server is shutting down" : "model " + modelName() + " is still loading";
        }
    }

    /** Whether waiting can help: false once loading failed. */
    public boolean loadFailed() {
        return failure != null;
    }

    @Override
    public EngineStats stats() {
        ServedModel current = served;
        return current == null ? EngineStats.IDLE : current.engine().stats();
    }
}
