package dev.chorus.engine.finetune;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.adapter.Adapter;
import dev.chorus.engine.adapter.AdapterKind;
import dev.chorus.engine.adapter.FrozenLinears;
import dev.chorus.engine.llama.DenseParameters;
import dev.chorus.engine.llama.ModelConfig;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Fine-tunes one adapter on a frozen base with DJL autograd: next-token cross-entropy on completion
 * tokens only, AdamW with warmup and cosine or linear decay, gradient clipping and accumulation,
 * held-out evaluation and checkpoints every K steps. Seeded: the same inputs give the same adapter.
 */
public final class AdapterTrainer implements AutoCloseable {

    public record Progress(int step, int steps, double trainLoss, double learningRate, double gradientNorm) {
    }

    /** Told about training as it goes (the CLI draws a progress bar and writes checkpoints). */
    public interface Listener {
        void onStep(Progress progress);

        default void onEval(int step, double evalLoss) {
        }

        default void onCheckpoint(int step, Adapter adapter) {
        }
    }

    /** Losses are mean negative log-likelihood per completion token; perplexity = exp(loss). */
    public record Result(Adapter adapter, double initialEvalLoss, double finalEvalLoss, double firstTrainLoss, double lastTrainLoss,
            double seconds, long trainableParameters, int steps) {
        public double stepsPerSecond() {
            return steps / seconds;
        }
    }

    private final Tokenizer tokenizer;
    private final int eos;
    private final TrainingRun run;
    private final Optimization optimization;
    private final String baseFingerprint;
    private final NDManager manager;
    private final CausalLm model;
    private final TrainableAdapter adapter;
    private final DataType dtype;
    private final int contextLength;

    public AdapterTrainer(DenseParameters base, Tokenizer tokenizer, int eos, TrainingRun run, Optimization optimization, Adapter init,
            String baseFingerprint, NDManager parent, DataType dtype) {
        this(base, null, tokenizer, eos, run, optimization, init, baseFingerprint, parent, dtype);
    }

    /** {@code frozen}: the compressed base's masks and grids, asked for by sparse-peft and qa-sparse-peft. */
    public AdapterTrainer(DenseParameters base, Supplier<FrozenLinears> frozen, Tokenizer tokenizer, int eos, TrainingRun run,
            Optimization optimization, Adapter init, String baseFingerprint, NDManager parent, DataType dtype) {
        this.tokenizer = tokenizer;
        this.eos = eos;
        this.run = run;
        this.optimization = optimization;
        this.baseFingerprint = baseFingerprint;
        this.dtype = dtype;
        this.contextLength = base.config().maxPositions();
        this.manager = parent.newSubManager();
        this.model = new CausalLm(base, base.config().maxPositions(), manager, dtype);
        this.adapter = new TrainableAdapter(base.config(), run.kind(), run.targets(), init, frozen, manager, dtype, run.seed());
    }

    public Result train(List<TrainingExample> trainData, List<TrainingExample> evalData, Listener listener) {
        List<TokenBatches.Encoded> train = TokenBatches.encode(trainData, tokenizer, eos, contextLength);
        List<TokenBatches.Encoded> eval = TokenBatches.encode(evalData, tokenizer, eos, contextLength);
        if (train.isEmpty()) {
            throw new InvalidRequestException("no training example leaves a completion token within the context");
        }
        AdamW optimizer = new AdamW(adapter.parameters(), adapter::decayed, optimization.learningRate(), optimization.weightDecay(),
                optimization.warmupSteps(), run.steps(), optimization.decay(), optimization.maxGradNorm());
        double initialEval = eval.isEmpty() ? Double.NaN : evalLoss(eval);
        Random random = new Random(run.seed());
        List<Integer> order = new ArrayList<>();
        int cursor = Integer.MAX_VALUE;
        double first = Double.NaN;
        double last = Double.NaN;
        long start = System.nanoTime();
        for (int step = 1; step <= run.steps(); step++) {
            List<List<TokenBatches.Encoded>> micro = new ArrayList<>();
            for (int k = 0; k < optimization.accumulation(); k++) {
                List<TokenBatches.Encoded> batch = new ArrayList<>();
                while (batch.size() < optimization.batchSize()) {
                    if (cursor >= order.size()) { // a new epoch in a new order
                        order.clear();
                        for (int i = 0; i < train.size(); i++) {
                            order.add(i);
                        }
                        Collections.shuffle(order, random);
                        cursor = 0;
                    }
                    batch.add(train.get(order.get(cursor++)));
                }
                micro.add(batch);
            }
            last = trainStep(micro);
            first = step == 1 ? last : first;
            double gradientNorm = optimizer.step(step);
            listener.onStep(new Progress(step, run.steps(), last, optimizer.learningRate(step), gradientNorm));
            if (optimization.evalEvery() > 0 && step % optimization.evalEvery() == 0 && !eval.isEmpty()) {
                listener.onEval(step, evalLoss(eval));
            }
            if (optimization.checkpointEvery() > 0 && step % optimization.checkpointEvery() == 0 && step < run.steps()) {
                listener.onCheckpoint(step, adapter.snapshot(baseFingerprint));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double finalEval = eval.isEmpty() ? Double.NaN : evalLoss(eval);
        return new Result(adapter.snapshot(baseFingerprint), initialEval, finalEval, first, last, seconds, adapter.parameterCount(),
                run.steps());
    }

    /** Forward and backward over the micro-batches of one step; the loss is the mean over all their completion tokens. */
    private double trainStep(List<List<TokenBatches.Encoded>> micro) {
        long tokens = micro.stream().flatMap(List::stream).mapToLong(TokenBatches.Encoded::targets).sum();
        double total = 0;
        for (List<TokenBatches.Encoded> examples : micro) {
            // The scope also frees arrays that ops on long-lived operands (frozen weights, adapter
            // parameters) create in those operands' managers, e.g. SQFT's merged weights.
            try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                TokenBatches.Batch batch = TokenBatches.batch(examples, TokenBatches.length(examples), step, dtype);
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray nll = CausalLm.nllSum(model.logits(batch.inputs(), adapter, step), batch.targets(), batch.mask());
                    NDArray loss = nll.div(tokens);
                    collector.backward(loss);
                    total += loss.toType(DataType.FLOAT64, false).getDouble();
                }
            }
        }
        return total;
    }

    private double evalLoss(List<TokenBatches.Encoded> data) {
        return meanNll(model, adapter, data, Math.max(8, optimization.batchSize()), manager, dtype);
    }

    /** Mean negative log-likelihood per completion token of {@code data} under {@code model} with {@code adapter}. */
    static double meanNll(CausalLm model, TrainableAdapter adapter, List<TokenBatches.Encoded> data, int batchSize, NDManager manager,
            DataType dtype) {
        double nll = 0;
        long tokens = 0;
        for (int from = 0; from < data.size(); from += batchSize) {
            List<TokenBatches.Encoded> examples = data.subList(from, Math.min(data.size(), from + batchSize));
            try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                TokenBatches.Batch batch = TokenBatches.batch(examples, TokenBatches.length(examples), step, dtype);
                nll += CausalLm.nllSum(model.logits(batch.inputs(), adapter, step), batch.targets(), batch.mask())
                        .toType(DataType.FLOAT64, false).getDouble();
                tokens += examples.stream().mapToLong(TokenBatches.Encoded::targets).sum();
            }
        }
        return nll / tokens;
    }

    /**
     * Mean negative log-likelihood per completion token of {@code data} under the base with
     * {@code adapter} (null: the base alone); exp of it is the perplexity. {@code frozen}: the
     * compressed base's masks and grids, asked for by sparse-peft and qa-sparse-peft adapters.
     */
    public static double evaluate(DenseParameters base, Supplier<FrozenLinears> frozen, Tokenizer tokenizer, int eos, Adapter adapter,
            List<TrainingExample> data, NDManager parent) {
        ModelConfig c = base.config();
        try (NDManager manager = parent.newSubManager(); CausalLm model = new CausalLm(base, c.maxPositions(), manager, DataType.FLOAT32)) {
            TrainableAdapter adapted = adapter == null
                    ? TrainableAdapter.none(c, manager)
                    : new TrainableAdapter(c, adapter.kind(), adapter.targets(), adapter, frozen, manager, DataType.FLOAT32, 0);
            return meanNll(model, adapted, TokenBatches.encode(data, tokenizer, eos, c.maxPositions()), 8, manager, DataType.FLOAT32);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
