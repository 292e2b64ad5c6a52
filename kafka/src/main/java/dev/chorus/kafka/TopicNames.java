package dev.chorus.kafka;

/**
 * What the catalogue's topics are called in one deployment. Each service reads the names from its
 * configuration ({@code chorus.topics.*}); the defaults are the names ARCHITECTURE.md uses.
 */
public record TopicNames(String adapters, String feedback, String trainingJobs, String deadLetter) {
    // Compile-time constants, so configuration defaults (@WithDefault) can name them.
    public static final String ADAPTERS = "chorus.adapters";
    public static final String FEEDBACK = "chorus.feedback";
    public static final String TRAINING_JOBS = "chorus.training-jobs";
    public static final String DEAD_LETTER = "chorus.dead-letter";

    public static final TopicNames DEFAULTS = new TopicNames(ADAPTERS, FEEDBACK, TRAINING_JOBS, DEAD_LETTER);

    public TopicNames {
        for (String name : new String[] {adapters, feedback, trainingJobs, deadLetter}) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("topic names must not be empty");
            }
        }
    }

    /** The name {@code topic} has here. */
    public String of(Topics topic) {
        return switch (topic) {
            case ADAPTERS -> adapters;
            case FEEDBACK -> feedback;
            case TRAINING_JOBS -> trainingJobs;
            case DEAD_LETTER -> deadLetter;
        };
    }
}
