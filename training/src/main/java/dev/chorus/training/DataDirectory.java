package dev.chorus.training;

import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The service's own files (chorus.training.data-directory), created at start so a bad path fails the start, not a job. */
@Startup
@ApplicationScoped
public class DataDirectory {
    private final Path root;

    public DataDirectory(TrainingConfig config) {
        this.root = Path.of(config.dataDirectory()).toAbsolutePath();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create chorus.training.data-directory " + root, e);
        }
        if (!Files.isWritable(root)) {
            throw new IllegalStateException("chorus.training.data-directory " + root + " is not writable");
        }
    }

    public Path root() {
        return root;
    }
}
