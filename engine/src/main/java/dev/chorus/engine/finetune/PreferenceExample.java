package dev.chorus.engine.finetune;

/** One preference pair: for {@code prompt}, the completion {@code chosen} is preferred over {@code rejected}. */
public record PreferenceExample(String prompt, String chosen, String rejected) {
    public PreferenceExample {
        if (prompt == null || chosen == null || rejected == null || chosen.isEmpty() || rejected.isEmpty()) {
            throw new IllegalArgumentException("a preference pair needs a prompt and non-empty chosen and rejected completions");
        }
        if (chosen.equals(rejected)) {
            throw new IllegalArgumentException("a preference pair's chosen and rejected completions must differ");
        }
    }

    /** The pair's preferred side as a supervised example. */
    public TrainingExample preferred() {
        return new TrainingExample(prompt, chosen);
    }

    public TrainingExample dispreferred() {
        return new TrainingExample(prompt, rejected);
    }
}
