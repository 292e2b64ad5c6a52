package dev.chorus.engine.finetune;

/** One supervised example: the model is trained to continue {@code prompt} with {@code completion}. */
public record TrainingExample(String prompt, String completion) {
    public TrainingExample {
        if (prompt == null || completion == null || completion.isEmpty()) {
            throw new IllegalArgumentException("an example needs a prompt and a non-empty completion");
        }
    }
}
