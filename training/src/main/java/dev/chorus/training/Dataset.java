package dev.chorus.training;

import dev.chorus.kafka.TrainingExample;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One tenant's adapter's training data as the examples topic holds it: the latest example per
 * event id (so a repeated event counts once), in the order they arrived. Written by the
 * {@link Datasets} thread, read by HTTP handlers.
 */
public final class Dataset {
    private final String tenant;
    private final String adapter;
    private final Map<String, TrainingExample> byEventId = new LinkedHashMap<>();
    private Instant trainedThrough; // null: never trained

    Dataset(String tenant, String adapter) {
        this.tenant = tenant;
        this.adapter = adapter;
    }

    public String tenant() {
        return tenant;
    }

    public String adapter() {
        return adapter;
    }

    synchronized void put(TrainingExample example) {
        byEventId.put(example.eventId(), example);
    }

    synchronized void remove(String eventId) {
        byEventId.remove(eventId);
    }

    synchronized boolean isEmpty() {
        return byEventId.isEmpty();
    }

    /** Examples created after {@code at} are new for the next job (the job part sets this when a version is published). */
    public synchronized void trainedThrough(Instant at) {
        trainedThrough = at;
    }

    public synchronized List<TrainingExample> examples() {
        return List.copyOf(byEventId.values());
    }

    public synchronized List<String> eventIds() {
        return List.copyOf(byEventId.keySet());
    }

    /** What the dataset holds, per kind and split. */
    public record Counts(Map<TrainingExample.Kind, Integer> byKind, int total, int heldOut, int preferencePairs, int newSinceTraining) {
    }

    public synchronized Counts counts() {
        Map<TrainingExample.Kind, Integer> byKind = new EnumMap<>(TrainingExample.Kind.class);
        for (TrainingExample.Kind k : TrainingExample.Kind.values()) {
            byKind.put(k, 0);
        }
        int heldOut = 0;
        int fresh = 0;
        for (TrainingExample x : byEventId.values()) {
            byKind.merge(x.kind(), 1, Integer::sum);
            heldOut += x.heldOut() ? 1 : 0;
            fresh += trainedThrough == null || x.createdAt().isAfter(trainedThrough) ? 1 : 0;
        }
        return new Counts(byKind, byEventId.size(), heldOut, preferencePairs(), fresh);
    }

    /**
     * Preference pairs available: every corrected dislike, plus every uncorrected dislike whose prompt
     * has a preferred answer elsewhere in the dataset (a liked completion or a correction).
     */
    private int preferencePairs() {
        Set<Object> answered = new HashSet<>();
        for (TrainingExample x : byEventId.values()) {
            if (x.chosen() != null) {
                answered.add(prompt(x));
            }
        }
        int pairs = 0;
        for (TrainingExample x : byEventId.values()) {
            if (x.kind() == TrainingExample.Kind.PREFERENCE
                    || (x.kind() == TrainingExample.Kind.NEGATIVE && answered.contains(prompt(x)))) {
                pairs++;
            }
        }
        return pairs;
    }

    private static Object prompt(TrainingExample x) {
        return x.prompt() != null ? x.prompt() : x.messages();
    }
}
