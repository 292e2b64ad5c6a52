package dev.chorus.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.llama.Projection;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** chorus.adapters.target-modules accepts what it always did (PEFT names, short names, spaces) and names itself when wrong. */
class ProjectionConverterTest {

    private static ChorusConfig.Adapters adapters(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(ChorusConfig.class)
                .withSources(new MapBackedConfigSource("test", properties) {
                })
                .build();
        return config.getConfigMapping(ChorusConfig.class).adapters();
    }

    @Test
    void defaultIsAllSevenProjections() {
        assertEquals(List.of(Projection.values()), adapters(Map.of()).targetModules());
    }

    @Test
    void peftAndShortNamesWithSpaces() {
        assertEquals(List.of(Projection.Q, Projection.V, Projection.DOWN),
                adapters(Map.of("chorus.adapters.target-modules", "q_proj, v , down_proj")).targetModules());
    }

    @Test
    void anUnknownModuleIsRefusedWithThePropertyName() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ProjectionConverter().convert("w_proj"));
        assertTrue(e.getMessage().contains("chorus.adapters.target-modules"), "names the property: " + e.getMessage());
        assertTrue(e.getMessage().contains("w_proj"), "names the value: " + e.getMessage());
        assertThrows(RuntimeException.class, () -> adapters(Map.of("chorus.adapters.target-modules", "q_proj,w_proj")).targetModules());
    }
}
