package dev.chorus.training;

import dev.chorus.engine.adapter.AdapterType;
import dev.chorus.kafka.AdapterManifest;
import dev.chorus.kafka.AdapterManifestLog;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Keeps every version of a merged-only type (sparse-peft, qa-sparse-peft) merged: follows the
 * adapters topic and, for each live version without a merged model, whether uploaded or produced by
 * a job, runs a {@link VersionMerge} on threads of its own (never a job's). What is done is read from
 * the manifests, so a restart picks up exactly the versions still unmerged. A failed merge is
 * retried with doubling backoff; one that can never succeed on this base (made for another base, a
 * dense base, a broken adapter) is refused once, logged and counted.
 */
@ApplicationScoped
public class ReMerger {
    private static final Logger LOG = Logger.getLogger(ReMerger.class);
    static final Set<String> MERGED_ONLY = Set.of(AdapterType.SPARSE_PEFT.label(), AdapterType.QA_SPARSE_PEFT.label());

    private final TrainingConfig config;
    private final KafkaConnection kafka;
    private final TopicNames topics;
    private final BaseModel base;
    private final TrainingMetrics metrics;
    private final Path workRoot;
    private ExecutorService workers;
    private ScheduledExecutorService timer;
    private RemergeQueue queue;
    private volatile AdapterManifestLog log;
    private volatile boolean stopped;

    public ReMerger(TrainingConfig config, KafkaConnection kafka, TopicNames topics, BaseModel base, TrainingMetrics metrics, DataDirectory data) {
        this.config = config;
        this.kafka = kafka;
        this.topics = topics;
        this.base = base;
        this.metrics = metrics;
        this.workRoot = data.root().resolve("remerge");
    }

    void start(@Observes StartupEvent ignored) {
        TrainingConfig.Remerge r = config.remerge();
        if (!r.enabled() || config.runJob().isPresent()) {
            return;
        }
        if (config.registry().apiKey().isEmpty()) {
            LOG.warn("chorus.training.registry.api-key is not set: versions of merged-only types are not re-merged");
            return;
        }
        if (r.concurrency() < 1) {
            throw new IllegalArgumentException("chorus.training.remerge.concurrency must be at least 1, not " + r.concurrency());
        }
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(r.concurrency(), runnable -> daemon(runnable, "chorus-remerge-" + n.incrementAndGet()));
        timer = Executors.newSingleThreadScheduledExecutor(runnable -> daemon(runnable, "chorus-remerge-timer"));
        queue = new RemergeQueue(timer, workers, r.backoff(), r.maxBackoff(), metrics, this::merge);
        metrics.remergePending(queue::pending);
        timer.execute(this::follow);
    }

    /** Reads the adapters topic (retrying until it can), then considers every manifest, and every change as it comes. */
    private void follow() {
        if (stopped) {
            return;
        }
        try {
            AdapterManifestLog l = new AdapterManifestLog(kafka, topics, (before, after) -> consider(after)).start(config.remerge().catchUpTimeout());
            log = l;
            l.all().forEach(this::consider);
            LOG.infof("re-merger follows %s: %d versions of merged-only types to merge", topics.adapters(), queue.pending());
        } catch (RuntimeException e) {
            LOG.warnf("re-merger cannot read %s yet (%s); retrying in %s", topics.adapters(), e.getMessage(), config.remerge().backoff());
            timer.schedule(this::follow, config.remerge().backoff().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Schedules each live version of a merged-only type without a merged model (null: a tombstone, nothing to do). */
    private void consider(AdapterManifest m) {
        if (m == null || m.deleted()) {
            return;
        }
        for (AdapterManifest.Version v : m.versions()) {
            if (needsMerge(v)) {
                queue.offer(new RemergeQueue.Target(m.tenant(), m.name(), v.version()));
            }
        }
    }

    static boolean needsMerge(AdapterManifest.Version v) {
        return MERGED_ONLY.contains(v.type()) && v.merged() == null;
    }

    /** Merges and attaches {@code t}; empty when there is nothing to do any more (merged meanwhile, e.g. by another instance, or deleted). */
    private Optional<VersionMerge.Merged> merge(RemergeQueue.Target t) {
        Optional<AdapterManifest.Version> current = log.get(t.tenant(), t.adapter()).filter(m -> !m.deleted())
                .flatMap(m -> m.version(t.version())).filter(ReMerger::needsMerge);
        if (current.isEmpty() || stopped) {
            return Optional.empty();
        }
        RegistryClient registry = new RegistryClient(URI.create(config.registry().url()), config.registry().apiKey().orElseThrow(),
                config.registry().timeout());
        return Optional.of(new VersionMerge(base.get(), registry, workRoot, config.job().maxRank()).run(t.tenant(), t.adapter(), current.get()));
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopped = true;
        if (timer != null) {
            timer.shutdownNow();
            workers.shutdownNow();
        }
        AdapterManifestLog l = log;
        if (l != null) {
            l.close();
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
