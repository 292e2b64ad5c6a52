package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryAdapterSourceTest {
    @Test
    void listsLoadsAndKeepsTenantsApart(@TempDir Path root) throws Exception {
        ModelConfig c = HfCheckpoint.readConfig(TestModels.tinyStories656k());
        Adapter a = BatchedAdapterForwardTestSupport.randomAdapter(c, AdapterType.LORA, 4, 1);
        AdapterFiles.write(a, root.resolve("acme/pirate/1"));
        AdapterFiles.write(a, root.resolve("acme/pirate/2"));
        AdapterFiles.write(a, root.resolve("globex/space/1"));
        Files.createDirectories(root.resolve("acme/pirate/notaversion"));
        Files.createDirectories(root.resolve("acme/pirate/07"));
        DirectoryAdapterSource source = new DirectoryAdapterSource(root, c, 16, null);

        assertEquals(Map.of("pirate", List.of(1, 2)), source.list("acme"));
        assertEquals(Map.of("space", List.of(1)), source.list("globex"));
        assertTrue(source.list("nobody").isEmpty());
        assertEquals(2, source.latest("acme", "pirate").orElseThrow());
        assertFalse(source.latest("acme", "space").isPresent(), "globex's adapter is not acme's");

        assertEquals(4, source.load(new AdapterKey("acme", "pirate", 2)).rank());
        assertThrows(AdapterNotFoundException.class, () -> source.load(new AdapterKey("acme", "space", 1)));
        assertThrows(AdapterNotFoundException.class, () -> source.load(new AdapterKey("acme", "pirate", 3)));
        assertThrows(AdapterNotFoundException.class, () -> source.load(new AdapterKey("..", "acme", 1)));
        assertThrows(AdapterNotFoundException.class, () -> source.load(new AdapterKey("acme", "../globex", 1)));

        Files.writeString(root.resolve("acme/pirate/2/adapter_config.json"), "{\"r\": 64, \"target_modules\": [\"q_proj\"]}");
        AdapterFormatException tooBig = assertThrows(AdapterFormatException.class, () -> source.load(new AdapterKey("acme", "pirate", 2)));
        assertTrue(tooBig.getMessage().contains("rank 64 exceeds the configured maximum 16"), tooBig.getMessage());
    }
}
