package dev.chorus.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.checkpoint.HfCheckpoint;
import dev.chorus.engine.llama.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
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

        assertEquals(List.of(new AdapterCatalog.Listing("pirate", List.of(1, 2), 2)), source.adapters("acme"));
        assertEquals(List.of(new AdapterCatalog.Listing("space", List.of(1), 1)), source.adapters("globex"));
        assertTrue(source.adapters("nobody").isEmpty());
        assertTrue(source.adapters("../acme").isEmpty());
        assertEquals(new AdapterKey("acme", "pirate", 2), source.resolve("acme", "pirate", OptionalInt.empty()).orElseThrow());
        assertEquals(new AdapterKey("acme", "pirate", 1), source.resolve("acme", "pirate", OptionalInt.of(1)).orElseThrow());
        assertFalse(source.resolve("acme", "pirate", OptionalInt.of(3)).isPresent());
        assertFalse(source.resolve("acme", "pirate", OptionalInt.of(7)).isPresent(), "07 is not a version directory");
        assertFalse(source.resolve("acme", "space", OptionalInt.empty()).isPresent(), "globex's adapter is not acme's");
        assertFalse(source.resolve("acme", "../globex/space", OptionalInt.empty()).isPresent());

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
