package dev.chorus.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class TrialsTest {
    @Test
    void medianAndSpreadOfEachFigureInInsertionOrder() throws Exception {
        Trials t = new Trials(5);
        double[] ms = {4.0, 9.0, 3.0, 5.0, 3.5};
        double[] floor = {2.0, 3.0, 2.0, 2.0, 1.75};
        for (int i = 0; i < ms.length; i++) {
            t.add("ms_per_step", ms[i]);
            t.add("overhead", ms[i] / floor[i]); // 2, 3, 1.5, 2.5, 2
        }
        assertEquals(4.0, t.median("ms_per_step"));
        assertEquals(3.0, t.min("ms_per_step"));
        assertEquals(9.0, t.max("ms_per_step"));
        assertEquals(2.0, t.median("overhead"), "the median of per-trial ratios, not a ratio of medians (4/2)");
        JsonNode json = new ObjectMapper().readTree(t.json("\"model\":\"m\""));
        assertEquals("m", json.get("model").asText());
        assertEquals(5, json.get("trials").asInt());
        assertEquals(1.5, json.get("overhead_min").asDouble());
        assertEquals(3.0, json.get("overhead_max").asDouble());
        String table = t.table();
        assertTrue(table.indexOf("ms_per_step") < table.indexOf("overhead"), table);
        assertTrue(table.contains("3.0000-9.0000"), table);
    }
}
