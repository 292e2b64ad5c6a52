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
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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

    /** One version of one adapter. */
    record Target(String tenant, String adapter, int version) {
        @Override
        public String toString() {
            return tenant + "/" + adapter + "@" + version;
        }
    }

    private final TrainingConfig config;
    private final KafkaConnection kafka;
    private final TopicNames topics;
    private final BaseModel base;
    private final TrainingMetrics metrics;
    private final Path workRoot;
    private final Map<Target, Integer> scheduled = new ConcurrentHashMap<>(); // queued or running, with its failures so far
    private final Map<Target, String> refused = new ConcurrentHashMap<>(); // never retried while this process lives
    private ExecutorService workers;
    private ScheduledExecutorService timer;
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
        metrics.remergePending(scheduled::size);
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
            LOG.infof("re-merger follows %s: %d versions of merged-only types to merge", topics.adapters(), scheduled.size());
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
                schedule(new Target(m.tenant(), m.name(), v.version()), 0, 0);
            }
        }
    }

    static boolean needsMerge(AdapterManifest.Version v) {
        return MERGED_ONLY.contains(v.type()) && v.merged() == null;
    }

    private void schedule(Target t, int failures, long delayMillis) {
        if (stopped || refused.containsKey(t)) {
            return;
        }
        if (failures == 0 && scheduled.putIfAbsent(t, 0) != null) {
            return; // already queued, running or waiting for its retry
        }
        scheduled.put(t, failures);
        timer.schedule(() -> workers.execute(() -> merge(t)), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void merge(Target t) {
        Optional<AdapterManifest.Version> current = log.get(t.tenant(), t.adapter()).filter(m -> !m.deleted())
                .flatMap(m -> m.version(t.version())).filter(ReMerger::needsMerge);
        if (current.isEmpty() || stopped) {
            scheduled.remove(t); // merged meanwhile (another instance), or deleted
            return;
        }
        try {
            RegistryClient registry = new RegistryClient(URI.create(config.registry().url()), config.registry().apiKey().orElseThrow(),
                    config.registry().timeout());
            VersionMerge.Merged merged = new VersionMerge(base.get(), registry, workRoot, config.job().maxRank())
                    .run(t.tenant(), t.adapter(), current.get());
            scheduled.remove(t);
            metrics.remerged(merged.seconds());
            LOG.infof("merged %s into the base in %.2f s: %d bytes, blob %s", t, merged.seconds(), merged.sizeBytes(), merged.sha256());
        } catch (VersionMerge.Refused e) {
            scheduled.remove(t);
            refused.put(t, e.reason);
            metrics.remergeRefused(e.reason);
            LOG.errorf("not merging %s (%s): %s", t, e.reason, e.getMessage());
        } catch (RuntimeException e) {
            int failures = scheduled.getOrDefault(t, 0) + 1;
            long wait = backoff(config.remerge().backoff(), config.remerge().maxBackoff(), failures).toMillis();
            metrics.remergeFailed();
            LOG.warnf("merging %s failed (%d times so far), retrying in %d ms: %s", t, failures, wait, e.getMessage());
            schedule(t, failures, wait);
        }
    }

    /** first · 2^(failures−1), at most {@code max}. */
    static Duration backoff(Duration first, Duration max, int failures) {
        Duration d = first.multipliedBy(1L << Math.min(failures - 1, 20));
        return d.compareTo(max) > 0 ? max : d;
    }

    /** Versions refused for good, with why (for tests and the log). */
    Map<Target, String> refused() {
        return Map.copyOf(refused);
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
