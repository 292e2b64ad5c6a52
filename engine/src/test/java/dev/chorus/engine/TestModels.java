package dev.chorus.engine;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of the shared real models (../shared/models beside the checkout). */
public final class TestModels {
    private TestModels() {
    }

    public static Path shared() {
        Path p = Path.of(System.getProperty("test.shared.dir", "../shared")).toAbsolutePath().normalize();
        if (!Files.isDirectory(p.resolve("models"))) {
            throw new IllegalStateException("shared models not found at " + p + " (expected ../shared beside the checkout)");
        }
        return p;
    }

    public static Path tinyStories656k() {
        return shared().resolve("models/TinyStories-656K");
    }

    public static Path stories260k() {
        return shared().resolve("models/stories260K/stories260K.bin");
    }
}
