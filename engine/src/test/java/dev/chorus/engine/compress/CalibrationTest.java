package dev.chorus.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.CheckpointFormatException;
import dev.chorus.engine.model.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrationTest {
    @Test
    void selfGeneratedIsSeededFixedLengthAndStartsWithBos() {
        try (LoadedModel model = LoadedModel.load(TestModels.stories260k(), Optional.empty(), "cpu")) {
            List<int[]> a = Calibration.selfGenerated(model, 20, 24, 5);
            List<int[]> b = Calibration.selfGenerated(model, 20, 24, 5);
            List<int[]> c = Calibration.selfGenerated(model, 20, 24, 6);
            assertEquals(20, a.size());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i), b.get(i));
                assertEquals(24, a.get(i).length);
                assertEquals(1, a.get(i)[0]);
                assertTrue(Arrays.stream(a.get(i)).allMatch(t -> t >= 0 && t < 512));
            }
            assertFalse(Arrays.deepEquals(a.toArray(), c.toArray()), "another seed gives other samples");
            // Sequence i does not depend on how many are generated (one random stream per index).
            assertArrayEquals(a.get(17), Calibration.selfGenerated(model, 18, 24, 5).get(17));
        }
    }

    @Test
    void textFileGivesOneSamplePerNonEmptyLine(@TempDir Path dir) throws Exception {
        try (LoadedModel model = LoadedModel.load(TestModels.stories260k(), Optional.empty(), "cpu")) {
            Path file = dir.resolve("calib.txt");
            Files.writeString(file, "Tim had a red ball.\n\n   \nThe cat sat on the mat and looked at the sun for a long time.\n");
            List<int[]> samples = Calibration.fromTextFile(file, model.requireTokenizer(), 12);
            assertEquals(2, samples.size());
            assertArrayEquals(model.requireTokenizer().encode("Tim had a red ball."), samples.get(0));
            assertEquals(12, samples.get(1).length, "truncated to the maximum length");
            Path empty = dir.resolve("empty.txt");
            Files.writeString(empty, "\n \n");
            assertThrows(CheckpointFormatException.class, () -> Calibration.fromTextFile(empty, model.requireTokenizer(), 8));
            assertThrows(CheckpointFormatException.class, () -> Calibration.fromTextFile(dir.resolve("missing.txt"), model.requireTokenizer(), 8));
        }
    }
}
