package dev.chorus.training;

import dev.chorus.kafka.TrainingJobEvent;

/**
 * Runs a queued job to its end: in-process for the local run, a Kubernetes Job later. It reports
 * every state through {@link Jobs#publish} (running with progress, then succeeded with the marker
 * of the newest example it trained on, or failed), and returns at once: the job runs elsewhere.
 */
public interface JobRunner {
    void start(TrainingJobEvent queued);
}
