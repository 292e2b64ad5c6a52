package dev.chorus.engine.generation;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.AdapterCache;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterResidency;
import dev.chorus.engine.adapter.AdapterRuntime;
import dev.chorus.engine.adapter.AdapterStore;
import dev.chorus.engine.generation.EngineCommand.Admit;
import dev.chorus.engine.generation.EngineCommand.Cancel;
import dev.chorus.engine.generation.EngineCommand.Evict;
import dev.chorus.engine.generation.EngineCommand.Loaded;
import dev.chorus.engine.generation.EngineCommand.Prefetch;
import dev.chorus.engine.generation.EngineCommand.Swap;
import dev.chorus.engine.generation.EngineCommand.VariantLoaded;
import dev.chorus.engine.merged.VariantResidency;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.tokenizer.StreamingDetokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous batching. One thread owns the model, the KV cache and adapter residency; other threads
 * only enqueue {@link EngineCommand}s (admit, cancel, prefetch, evict, swap; loaders post loaded). Each iteration admits
 * waiting requests into free slots, prefills the admitted prompts together in one pass (within a
 * token budget; long prompts in chunks over several iterations), then runs one decode step for
 * every running sequence together.
 */
public final class EngineLoop implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EngineLoop.class.getName());

    /**
     * maxBatch = KV cache slots; prefillBudget = prompt tokens prefilled per iteration before decoding
     * again (prompts in one pass, long ones in chunks); tenantSlots = slots one tenant may hold, so
     * that another tenant's request finds one free at once (maxBatch: no such reserve);
     * tenantPrefillBudget = prompt tokens of one tenant prefilled per iteration while another tenant has
     * requests decoding or waiting for their own prefill, so its prompts lengthen their steps little and
     * a newly arrived prompt is prefilled in a short pass (prefillBudget: no such bound).
     */
    public record Settings(int maxBatch, int maxWaiting, int prefillBudget, int tenantSlots, int tenantPrefillBudget) {
        public Settings {
            if (maxBatch < 1 || maxWaiting < 0 || prefillBudget < 1) {
                throw new IllegalArgumentException("maxBatch and prefillBudget must be >= 1, maxWaiting >= 0");
            }
            if (tenantSlots < 1 || tenantSlots > maxBatch) {
                throw new IllegalArgumentException("tenantSlots must be between 1 and maxBatch (" + maxBatch + "), got " + tenantSlots);
            }
            if (tenantPrefillBudget < 1) {
                throw new IllegalArgumentException("tenantPrefillBudget must be >= 1, got " + tenantPrefillBudget);
            }
        }

        /** Every slot open to every tenant. */
        public Settings(int maxBatch, int maxWaiting, int prefillBudget) {
            this(maxBatch, maxWaiting, prefillBudget, maxBatch, prefillBudget);
        }
    }

    private final LoadedModel model;
    private final AdapterRuntime adapters; // null: base model only
    private final AdapterCache residency; // adapters' cache, null with them
    private final VariantRouter variants; // null: no merged variants
    private final dev.chorus.engine.merged.MergedModels mergedModels; // NONE without variants
    private final Settings settings;
    private final KvCache cache;
    private final LinkedBlockingQueue<EngineCommand> commands = new LinkedBlockingQueue<>();
    private final Admission admission;
    private final TenantQueues waiting; // admission's queue
    private final Prefills prefilling = new Prefills();
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private final StepRunner steps;
    private volatile boolean closed;
    private final AtomicInteger queued = new AtomicInteger(); // submitted and not yet finished
    private final Map<String, Integer> queuedByTenant = new ConcurrentHashMap<>(); // the same, per tenant
    // What one tenant may hold: every slot and half the waiting places (rounded up); the rest stay for the others.
    private final int tenantShare;
    private volatile EngineStats stats = EngineStats.IDLE;
    // Engine-thread counters, published through stats.
    private int lastBatchSize;
    private long decodeSteps;
    private long generatedTokens;

    public EngineLoop(LoadedModel model, Settings settings) {
        this(model, settings, null);
    }

    /**
     * With {@code adapters} non-null, requests may name an adapter version; the loop pins it while
     * they run, and owns the runtime from here on (closes it with the loop).
     */
    public EngineLoop(LoadedModel model, Settings settings, AdapterRuntime adapters) {
        this(model, settings, adapters, null);
    }

    /** With {@code variants} non-null, versions may also run on merged variants of the base (see {@link Variants}). */
    public EngineLoop(LoadedModel model, Settings settings, AdapterRuntime adapters, Variants variants) {
        this.model = model;
        this.mergedModels = variants == null ? dev.chorus.engine.merged.MergedModels.NONE : variants.models();
        this.variants = variants == null ? null : new VariantRouter(model, variants, settings.maxBatch(), r -> commands.add(new VariantLoaded(r)));
        this.adapters = adapters;
        this.residency = adapters == null ? null : adapters.cache();
        if (residency != null) {
            residency.onLoadFinished(result -> commands.add(new Loaded(result))); // also wakes an idle loop
        }
        this.settings = settings;
        this.tenantShare = settings.maxBatch() + (settings.maxWaiting() + 1) / 2;
        this.cache = model.model().newCache(settings.maxBatch(), model.config().maxPositions());
        this.admission = new Admission(settings, residency, this.variants, this::fail);
        this.waiting = admission.waiting();
        this.steps = new StepRunner(model, cache, adapters);
        this.thread = new Thread(this::run, "chorus-engine");
        thread.setDaemon(true);
        thread.start();
    }

    public LoadedModel model() {
        return model;
    }

    /** Context positions available to prompt + completion. */
    public int contextLength() {
        return cache.capacity();
    }

    /**
     * Queues a request. Fails fast with {@link InvalidRequestException} when prompt + max tokens do
     * not fit the context, and with {@link EngineOverloadedException} when the queue is full.
     */
    public void submit(GenerationRequest request, TokenSink sink) {
        RequestChecks.check(request, model, contextLength(), adapters != null, mergedModels);
        if (closed) {
            throw new EngineClosedException("engine is shut down");
        }
        if (queuedByTenant.merge(request.tenant(), 1, Integer::sum) > tenantShare) {
            leave(request.tenant());
            throw new EngineOverloadedException("this tenant has " + tenantShare + " requests queued or running, its share of the engine; "
                    + "retry later");
        }
        if (queued.incrementAndGet() > settings.maxWaiting() + settings.maxBatch()) {
            queued.decrementAndGet();
            leave(request.tenant());
            throw new EngineOverloadedException("too many requests waiting (" + settings.maxWaiting() + "); retry later");
        }
        StreamingDetokenizer detokenizer = model.tokenizer().map(t -> new StreamingDetokenizer(t, request.promptIds())).orElse(null);
        Sequence sequence = new Sequence(request, sink, detokenizer);
        commands.add(new Admit(sequence));
    }

    private void leave(String tenant) {
        queuedByTenant.computeIfPresent(tenant, (t, n) -> n <= 1 ? null : n - 1);
    }

    /** Stops a request early; its sink gets onFinish(CANCELLED). Unknown ids are ignored. */
    public void cancel(String requestId) {
        commands.add(new Cancel(requestId));
    }

    /** Starts loading an adapter version into the host tier, so its first request does not wait for the source. */
    public void prefetch(AdapterKey adapter) {
        commands.add(new Prefetch(requireAdapters(adapter)));
    }

    /** Drops an adapter version from the device and host tiers as soon as no running request uses it. */
    public void evict(AdapterKey adapter) {
        commands.add(new Evict(requireAdapters(adapter)));
    }

    /** {@code active} is now the version new requests get instead of {@code retired} (null: none): prefetch one, evict the other. */
    public void swap(AdapterKey retired, AdapterKey active) {
        commands.add(new Swap(retired, requireAdapters(active)));
    }

    /** The store's version changes as commands to this loop (swap on a new active version, evict on a deletion). */
    public AdapterStore.Changes adapterChanges() {
        return new AdapterStore.Changes() {
            @Override
            public void activated(AdapterKey previous, AdapterKey active) {
                swap(previous, active);
            }

            @Override
            public void removed(AdapterKey version) {
                evict(version);
            }
        };
    }

    private AdapterKey requireAdapters(AdapterKey adapter) {
        if (adapters == null) {
            throw new InvalidRequestException("this engine serves no adapters");
        }
        return java.util.Objects.requireNonNull(adapter, "adapter");
    }

    public EngineStats stats() {
        return stats;
    }

    private void run() {
        while (!closed) {
            try {
                drainCommands();
                if (variants != null) {
                    variants.tick(waiting.all(), running, prefilling.all());
                }
                admission.admit(prefilling);
                prefill();
                decode();
                publishStats();
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "engine step failed; failing the running requests", e);
                failStarted(new EngineException("engine step failed: " + e.getMessage(), e));
            }
        }
        EngineException shutdown = new EngineClosedException("engine shut down");
        drainQuietly();
        failStarted(shutdown);
        waiting.all().forEach(s -> fail(s, shutdown));
        waiting.clear();
    }

    /** Fails every running and prefilling sequence. */
    private void failStarted(EngineException error) {
        running.forEach(s -> fail(s, error));
        running.clear();
        prefilling.removeIf(s -> {
            fail(s, error);
            return true;
        });
    }

    private void drainCommands() throws InterruptedException {
        // Nothing running: sleep until a command arrives (a waiting request can only be waiting for an
        // adapter load, whose completion posts a Loaded command).
        if (running.isEmpty()) {
            EngineCommand first = commands.poll(200, TimeUnit.MILLISECONDS);
            if (first != null) {
                handle(first);
            }
        }
        EngineCommand next;
        while ((next = commands.poll()) != null) {
            handle(next);
        }
    }

    /** Every command kind, handled here and only here. */
    private void handle(EngineCommand command) {
        if (command instanceof Admit a) {
            waiting.add(a.sequence());
        } else if (command instanceof Cancel c) {
            waiting.removeIf(s -> s.request.id().equals(c.requestId()) && finish(s, FinishReason.CANCELLED));
            prefilling.removeIf(s -> s.request.id().equals(c.requestId()) && finish(s, FinishReason.CANCELLED));
            running.removeIf(s -> s.request.id().equals(c.requestId()) && finish(s, FinishReason.CANCELLED));
        } else if (command instanceof Prefetch p) {
            residency.prefetch(p.adapter());
        } else if (command instanceof Loaded l) {
            EngineException error = l.result().error();
            // Only this load's own failure fails the requests waiting for it; they fail once, later ones retry.
            if (residency.loaded(l.result()).orElse(null) instanceof AdapterResidency.Failed f && f.error() == error) {
                admission.failWaiting(l.result().key(), error);
            }
        } else if (command instanceof VariantLoaded v) {
            variants.loaded(v.result()).ifPresent(error -> admission.failWaiting(v.result().key(), error));
        } else if (command instanceof Evict e) {
            residency.evict(e.adapter());
            dropVariant(e.adapter());
        } else if (command instanceof Swap s) {
            if (s.retired() != null && !s.retired().equals(s.active())) {
                residency.evict(s.retired()); // requests running on it keep it until they finish
                dropVariant(s.retired());
            }
            residency.prefetch(s.active());
        } else {
            throw new IllegalStateException("unhandled engine command " + command);
        }
    }

    private void dropVariant(AdapterKey key) {
        if (variants != null) {
            variants.drop(key);
        }
    }

    /** At shutdown only new requests matter: they join the waiting queue to be told the engine closed. */
    private void drainQuietly() {
        EngineCommand next;
        while ((next = commands.poll()) != null) {
            if (next instanceof Admit a) {
                waiting.add(a.sequence());
            }
        }
    }

    /**
     * One pass over the admitted prompts within prefillBudget tokens, shared out by tenant
     * ({@link Prefills#next}), so decoding rows wait at most one such pass. While more than one tenant
     * has requests started (decoding or waiting for prefill), each tenant prefills at most
     * tenantPrefillBudget tokens per pass: one tenant's prompts make another's decode steps little
     * longer, and another's new prompt is prefilled in a short pass, not beside a whole budget of them.
     * A sequence whose whole prompt is in the cache samples its first token and starts decoding.
     */
    private void prefill() {
        Set<String> decoding = new HashSet<>();
        running.forEach(s -> decoding.add(s.request.tenant()));
        Prefills.Pass pass = prefilling.next(settings.prefillBudget(), settings.tenantPrefillBudget(), decoding);
        if (pass == null) {
            return;
        }
        try {
            float[][] logits = steps.prefill(pass.rows(), pass.chunks());
            for (int i = 0; i < logits.length; i++) {
                Sequence s = pass.rows().get(i);
                if (prefilling.completed(s)) {
                    running.add(s);
                    accept(s, s.sampler.next(logits[i]));
                }
            }
        } catch (RuntimeException e) {
            EngineException error = new EngineException("prefill failed: " + e.getMessage(), e);
            prefilling.removeIf(s -> pass.rows().contains(s));
            pass.rows().forEach(s -> fail(s, error));
        }
        running.removeIf(this::releaseIfDone);
    }

    private void decode() {
        if (running.isEmpty()) {
            return;
        }
        float[][] logits = steps.decode(running, prefilling.all());
        for (int i = 0; i < running.size(); i++) {
            accept(running.get(i), running.get(i).sampler.next(logits[i]));
        }
        running.removeIf(this::releaseIfDone);
        lastBatchSize = logits.length;
        decodeSteps++;
    }

    /** Hands a sampled token to its sequence, which streams its text and decides whether it is done. */
    private void accept(Sequence s, int token) {
        generatedTokens++;
        s.accept(token, model.stopTokens());
    }

    private boolean releaseIfDone(Sequence s) {
        if (s.done == null) {
            return false;
        }
        return finish(s, s.done);
    }

    private void releaseSlot(Sequence s) {
        admission.freeSlot(s);
        if (s.adapterPinned) {
            residency.release(s.request.adapter());
            s.adapterPinned = false;
        }
        if (variants != null) {
            variants.release(s);
        }
        queued.decrementAndGet();
        leave(s.request.tenant());
    }

    private boolean finish(Sequence s, FinishReason reason) {
        releaseSlot(s);
        s.finished(reason);
        return true;
    }

    private void fail(Sequence s, EngineException error) {
        releaseSlot(s);
        s.failed(error);
    }

    private void publishStats() {
        stats = EngineStats.snapshot(running, prefilling.all(), waiting.all(), cache, queued.get(), lastBatchSize, decodeSteps, generatedTokens,
                adapters == null ? 0 : adapters.maxAdapters(), residency == null ? AdapterCache.Stats.NONE : residency.stats(),
                variants == null ? VariantResidency.Stats.NONE : variants.stats());
    }

    /** Stops the thread; requests still queued or running get onError. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (variants != null) {
            variants.close();
        }
        cache.close();
        if (adapters != null) {
            adapters.close();
        }
    }
}
