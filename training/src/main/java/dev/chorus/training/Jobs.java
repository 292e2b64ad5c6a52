package dev.chorus.training;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.EventFormatException;
import dev.chorus.kafka.KafkaConnection;
import dev.chorus.kafka.TopicNames;
import dev.chorus.kafka.TopicTail;
import dev.chorus.kafka.TrainingJobEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * Every job's state, rebuilt from {@code chorus.training-jobs} at start and then tailed; the one
 * writer of job states. A state is published synchronously (acknowledged by the broker) before
 * anyone acts on it. Once rebuilt, jobs the topic says run on this instance cannot be running any
 * more (this instance just started): each is marked failed ({@code interrupted}) and, on its first
 * attempt, queued again as a new job.
 */
@ApplicationScoped
public class Jobs implements JobRecords {
    private static final Logger LOG = Logger.getLogger(Jobs.class);
    static final String INTERRUPTED = "interrupted";

    private final KafkaConnection kafka;
    private final String topic;
    private final Duration catchUpTimeout;
    private final String instanceId;
    private final int maxAttempts;
    private final Duration staleAfter;
    private final Clock clock;
    private final JobBook book = new JobBook();
    private final Set<String> committing = ConcurrentHashMap.newKeySet(); // jobs of this instance publishing their version
    private final TopicTail tail;
    private KafkaProducer<String, byte[]> producer;

    public Jobs(KafkaConnection kafka, TopicNames topics, TrainingConfig config,
            Clock clock) {
        this.kafka = kafka;
        this.topic = topics.trainingJobs();
        this.catchUpTimeout = config.catchUpTimeout();
        this.instanceId = config.instanceId();
        this.maxAttempts = config.jobAttempts();
        this.staleAfter = config.staleAfter();
        this.clock = clock;
        this.tail = new TopicTail(topic, kafka.client(Map.of()), catchUpTimeout, this::apply, () -> {
            LOG.infof("jobs rebuilt from %s: %d jobs", topic, book.list(t -> true).size());
            recover();
        });
    }

    void start(@Observes StartupEvent ignored) {
        producer = new KafkaProducer<>(kafka.client(Map.of(
                "acks", "all",
                "enable.idempotence", "true",
                "max.block.ms", Long.toString(catchUpTimeout.toMillis()))), new StringSerializer(), new ByteArraySerializer());
        tail.start("chorus-jobs");
    }

    void stop(@Observes ShutdownEvent ignored) {
        tail.close();
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            book.remove(r.key(), r.offset());
            return;
        }
        try {
            TrainingJobEvent job = EventCodec.TRAINING_JOB.decode(r.value());
            if (!job.jobId().equals(r.key())) {
                throw new EventFormatException("record key " + r.key() + " is not the job id " + job.jobId());
            }
            book.apply(job, r.offset());
        } catch (EventFormatException e) {
            LOG.warnf("skipping %s-%d@%d: %s", r.topic(), r.partition(), r.offset(), e.getMessage());
        }
    }

    /** Fails what this instance was running when it stopped, and queues each again unless that was its last attempt. */
    void recover() {
        for (TrainingJobEvent job : book.runningOn(instanceId)) {
            interrupted(job, "the training service stopped while the job ran (attempt " + job.attempt() + ")");
        }
    }

    /**
     * Fails the jobs other instances run that have recorded nothing for {@code staleAfter} (their
     * instance died and did not come back) and queues each again unless that was its last attempt.
     */
    void sweepStale(Instant now) {
        for (TrainingJobEvent job : book().inState(TrainingJobEvent.State.RUNNING)) {
            if (!instanceId.equals(job.runner()) && job.at().plus(staleAfter).isBefore(now)) {
                interrupted(job, "no progress from " + job.runner() + " since " + job.at() + " (attempt " + job.attempt() + ")");
            }
        }
    }

    private void interrupted(TrainingJobEvent job, String why) {
        Instant now = clock.instant();
        publish(job.failed(INTERRUPTED, why, now));
        if (job.attempt() < maxAttempts) {
            TrainingJobEvent again = publish(job.retried(newId(), now));
            LOG.infof("job %s of %s was interrupted; queued again as %s", job.jobId(), job.adapterKey(), again.jobId());
        } else {
            LOG.warnf("job %s of %s was interrupted on its last attempt; not queued again", job.jobId(), job.adapterKey());
        }
    }

    /**
     * Writes {@code job}'s state and waits until the broker has it; this view shows it at once. A job
     * that has ended (succeeded, failed, cancelled) stays as it ended: a later state for it, such as a
     * runner's progress after a cancel, is refused with {@link JobEndedException}.
     */
    @Override
    public synchronized TrainingJobEvent publish(TrainingJobEvent job) {
        Optional<TrainingJobEvent> held = book.get(job.jobId());
        if (held.isPresent() && held.get().state().finished()) {
            throw new JobEndedException(held.get());
        }
        try {
            RecordMetadata at = producer.send(new ProducerRecord<>(topic, job.jobId(), EventCodec.TRAINING_JOB.encode(job)))
                    .get(catchUpTimeout.toMillis(), TimeUnit.MILLISECONDS);
            book.apply(job, at.offset());
            return job;
        } catch (ExecutionException | TimeoutException e) {
            throw new JobsUnavailableException("cannot record job " + job.jobId() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JobsUnavailableException("interrupted while recording job " + job.jobId(), e);
        }
    }

    /**
     * Cancels a job that has not ended: a queued one never runs, a running one's trainer sees it at
     * its next step ({@link #ended}) and stops, publishing nothing. A job already publishing its
     * version ({@link #committing}) or ended cannot be cancelled ({@link JobEndedException}).
     */
    public synchronized TrainingJobEvent cancel(String jobId, String why) {
        TrainingJobEvent job = book().get(jobId).orElseThrow(() -> new IllegalArgumentException("no job " + jobId));
        if (committing.contains(jobId)) {
            throw new JobEndedException(job, "the job has trained and is publishing its version; it can no longer be cancelled");
        }
        return publish(job.cancelled(why, clock.instant()));
    }

    /**
     * Marks the job as publishing its version: from here a cancel is refused. Throws
     * {@link JobEndedException} if it was cancelled (or ended otherwise) first.
     */
    public synchronized void committing(String jobId) {
        Optional<TrainingJobEvent> held = book.get(jobId);
        if (held.isPresent() && held.get().state().finished()) {
            throw new JobEndedException(held.get());
        }
        committing.add(jobId);
    }

    /** The job's end as this view knows it (a cancel shows here at once on this instance, via the topic on others). */
    public Optional<TrainingJobEvent> ended(String jobId) {
        return book.get(jobId).filter(j -> j.state().finished());
    }

    /** The job has published its version (or failed doing so): it is no longer {@link #committing}. */
    public void committed(String jobId) {
        committing.remove(jobId);
    }

    /** A fresh job id in OpenAI's style. */
    public static String newId() {
        return "ftjob-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    public boolean ready() {
        return tail.current();
    }

    private JobBook book() {
        if (!ready()) {
            throw new JobsUnavailableException(tail.failure() != null ? "the job records are unavailable: " + tail.failure().getMessage()
                    : "the job records are still being read; retry shortly", tail.failure());
        }
        return book;
    }

    @Override
    public Optional<TrainingJobEvent> get(String jobId) {
        return book().get(jobId);
    }

    /** The jobs of tenants {@code visible} accepts, newest first. */
    public List<TrainingJobEvent> list(Predicate<String> visible) {
        return book().list(visible);
    }

    public Optional<TrainingJobEvent> unfinished(String tenant, String adapter) {
        return book().unfinished(tenant, adapter);
    }

    public Optional<Instant> trainedThrough(String tenant, String adapter) {
        return book().trainedThrough(tenant, adapter);
    }

    public List<TrainingJobEvent> inState(TrainingJobEvent.State state) {
        return book().inState(state);
    }

    /** The name this instance records as the runner of the jobs it runs. */
    public String instanceId() {
        return instanceId;
    }
}
