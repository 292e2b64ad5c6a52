package dev.chorus.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import dev.chorus.engine.adapter.ModuleWeights;

import ai.djl.ndarray.NDManager;
import dev.chorus.engine.TestModels;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.AdapterSlots;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.model.KvCache;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.model.RowAdapters;
import dev.chorus.engine.sampling.Sampler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate --adapter DIR: the adapter applied through the engine's slots and batched adapter forward. */
class GenerateAdapterCliTest {
    private static final String PROMPT = "Tom found a shiny key";
    private static final int TOKENS = 30;

    private static ChorusCliTest.Run generate(Path model, Optional<Path> adapter) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--temperature", "0", "--prompt", PROMPT,
                "--max-tokens", Integer.toString(TOKENS)));
        adapter.ifPresent(dir -> args.addAll(List.of("--adapter", dir.toString())));
        return ChorusCliTest.chorus(args.toArray(String[]::new));
    }

    @Test
    void aZeroAdapterKeepsTheBaseOutputAndARandomOneGivesTheAdapterForwardsOutput(@TempDir Path dir) {
        Path model = TestModels.tinyStories656k();
        ChorusCliTest.Run base = generate(model, Optional.empty());
        assertEquals(0, base.code(), base.err());

        Path random = dir.resolve("random");
        ChorusCliTest.Run made = ChorusCliTest.chorus("make-adapter", "--model", model.toString(), "--out", random.toString(), "--rank", "8",
                "--std", "0.3", "--seed", "5");
        assertEquals(0, made.code(), made.err());
        try (LoadedModel loaded = LoadedModel.load(model, Optional.empty(), "cpu")) {
            Adapter adapter = AdapterFiles.read(random, loaded.config(), 64, Fingerprint.of(model));
            Path zero = dir.resolve("zero");
            AdapterFiles.write(withZeroB(adapter), zero);

            ChorusCliTest.Run zeroRun = generate(model, Optional.of(zero));
            assertEquals(0, zeroRun.code(), zeroRun.err());
            assertEquals(base.out(), zeroRun.out(), "B = 0: the adapter adds nothing");

            ChorusCliTest.Run randomRun = generate(model, Optional.of(random));
            assertEquals(0, randomRun.code(), randomRun.err());
            assertNotEquals(base.out(), randomRun.out(), "a random adapter changes the completion");
            assertEquals(greedyWithAdapter(loaded, adapter), randomRun.out());
        }
    }

    @Test
    void aMissingAdapterIsOneLineAndExitOne(@TempDir Path dir) {
        ChorusCliTest.Run r = generate(TestModels.tinyStories656k(), Optional.of(dir.resolve("none")));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("chorus: "), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
    }

    private static Adapter withZeroB(Adapter a) {
        Map<Adapter.Module, ModuleWeights> modules = new HashMap<>();
        a.modules().forEach((m, w) -> {
            ModuleWeights.LowRank lora = (ModuleWeights.LowRank) w;
            modules.put(m, new ModuleWeights.LowRank(lora.a(), new float[lora.b().length]));
        });
        return new Adapter(a.config(), modules);
    }

    /** Greedy decoding with the adapter in a device slot, through the model's forward with row adapters. */
    private static String greedyWithAdapter(LoadedModel model, Adapter adapter) {
        int[] prompt = model.requireTokenizer().encode(PROMPT);
        List<Integer> generated = new ArrayList<>();
        try (AdapterSlots slots = new AdapterSlots(model.config(), new AdapterSlots.Settings(1, 64, adapter.targets()), model.manager());
                KvCache cache = model.model().newCache(1, model.config().maxPositions())) {
            slots.load(1, adapter);
            RowAdapters rows = slots.forRows(new int[] {1});
            int[] input = prompt;
            int start = 0;
            for (int t = 0; t < TOKENS; t++) {
                float[] logits;
                try (NDManager step = model.manager().newSubManager()) {
                    logits = model.model().forward(step, cache, new int[] {0}, new int[] {start}, new int[][] {input}, false, rows).toFloatArray();
                }
                int next = Sampler.argMax(logits);
                if (next == model.config().eosId()) {
                    break;
                }
                generated.add(next);
                start += input.length;
                input = new int[] {next};
            }
        }
        return model.requireTokenizer().decode(generated.stream().mapToInt(Integer::intValue).toArray());
    }
}
