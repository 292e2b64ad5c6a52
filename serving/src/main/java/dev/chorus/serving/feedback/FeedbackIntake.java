package dev.chorus.serving.feedback;

import dev.chorus.kafka.EventCodec;
import dev.chorus.kafka.FeedbackEvent;
import dev.chorus.kafka.TopicNames;
import dev.chorus.serving.ChorusConfig;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * Where feedback enters Chorus: the recent completions it may name, and the producer to the
 * feedback topic (channel = topic; acks=all, idempotent, see application.properties). An event
 * counts as accepted only once the broker acknowledged it.
 */
@ApplicationScoped
public class FeedbackIntake {
    private final MutinyEmitter<byte[]> feedback;
    private final RecentCompletions recent;
    private final Duration ackTimeout;

    public FeedbackIntake(@Channel(TopicNames.FEEDBACK) MutinyEmitter<byte[]> feedback, ChorusConfig config) {
        this.feedback = feedback;
        ChorusConfig.Feedback settings = config.feedback();
        this.recent = new RecentCompletions(settings.recentCompletions(), settings.recentCompletionsAge(), Clock.systemUTC());
        this.ackTimeout = settings.ackTimeout();
    }

    /** Remembers a completion its tenant received in full. */
    public void completed(RecentCompletion completion) {
        recent.add(completion);
    }

    /** The tenant's recent completion {@code id}, or {@link UnknownCompletionException}. */
    public RecentCompletion completion(String tenant, String id) {
        return recent.find(tenant, id).orElseThrow(() -> new UnknownCompletionException(id));
    }

    /**
     * Produces {@code event} keyed by tenant. The Uni (lazy: subscribe to send) succeeds once the
     * broker acknowledged the write and fails with {@link FeedbackUnavailableException} when it did
     * not within the acknowledgement timeout or the producer refused it.
     */
    public Uni<Void> submit(FeedbackEvent event) {
        return Uni.createFrom().deferred(() -> feedback.sendMessage(KafkaRecord.of(event.tenant(), EventCodec.FEEDBACK.encode(event))))
                .ifNoItem().after(ackTimeout).failWith(() -> new FeedbackUnavailableException(
                        "the feedback topic did not acknowledge within " + ackTimeout.toMillis() + " ms; retry with the same event_id", null))
                .onFailure(e -> !(e instanceof FeedbackUnavailableException)).transform(e -> new FeedbackUnavailableException(
                        "the feedback topic refused the event (" + e.getMessage() + "); retry with the same event_id", e));
    }
}
