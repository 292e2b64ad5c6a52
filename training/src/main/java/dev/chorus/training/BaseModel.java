package dev.chorus.training;

import dev.chorus.engine.finetune.TrainingBase;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;

/**
 * The configured base model ({@code chorus.training.base-model}, the checkpoint serving and the
 * registry load), opened on first use and shared: jobs train on it and the re-merger merges into it.
 */
@ApplicationScoped
public class BaseModel {
    private final Path path;
    private TrainingBase base; // opened on first demand

    public BaseModel(TrainingConfig config) {
        this.path = Path.of(config.baseModel());
    }

    public synchronized TrainingBase get() {
        if (base == null) {
            base = TrainingBase.open(path);
        }
        return base;
    }

    @PreDestroy
    synchronized void close() {
        if (base != null) {
            base.close();
        }
    }
}
