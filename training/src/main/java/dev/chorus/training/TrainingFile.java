package dev.chorus.training;

import java.time.Instant;

/**
 * An uploaded training file: its OpenAI-style id, owner, name, size, what it holds (supervised
 * examples or preference pairs, how many lines) and the sha256 of its content, which names the
 * stored bytes.
 */
public record TrainingFile(String id, String tenant, String filename, long bytes, Instant createdAt, String purpose, String sha256,
        Kind kind, int examples) {
    public enum Kind { SUPERVISED, PREFERENCE }
}
