package dev.chorus.engine.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterFiles;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.checkpoint.Checkpoints;
import dev.chorus.engine.checkpoint.Fingerprint;
import dev.chorus.engine.finetune.AdapterTrainer;
import dev.chorus.engine.finetune.TrainingData;
import dev.chorus.engine.finetune.TrainingExample;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.model.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** chorus eval --data FILE.jsonl [--adapter DIR]: perplexity on the completions, with or without an adapter. */
final class AdapterEval {
    private AdapterEval() {
    }

    static void run(Path modelPath, Optional<Path> adapterDir, Path data, boolean json, PrintStream out) {
        List<TrainingExample> examples = TrainingData.read(data);
        DenseParameters base = Checkpoints.open(modelPath).dense();
        Adapter adapter = adapterDir.map(d -> AdapterFiles.read(d, base.config(), 1024, Fingerprint.of(modelPath))).orElse(null);
        double loss;
        try (LoadedModel model = LoadedModel.load(modelPath, Optional.empty(), "cpu");
                NDManager manager = Engine.getInstance().newBaseManager()) {
            loss = AdapterTrainer.evaluate(base, () -> FrozenLinears.read(modelPath), model.requireTokenizer(), base.config().eosId(), adapter,
                    examples, manager);
        }
        ObjectNode report = new ObjectMapper().createObjectNode()
                .put("model", modelPath.toString())
                .put("adapter", adapterDir.map(Path::toString).orElse(null))
                .put("examples", examples.size())
                .put("loss", loss)
                .put("ppl", Math.exp(loss));
        if (json) {
            out.println(report);
        } else {
            report.fields().forEachRemaining(e -> out.printf(Locale.ROOT, "%-10s %s%n", e.getKey(), e.getValue()));
        }
    }
}
