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
        return optimize(new Objective() {
            @Override
            public int size() {
                return train.size();
            }

            @Override
            public double weight(List<Integer> items) {
                return items.stream().mapToLong(i -> train.get(i).targets()).sum();
            }

            @Override
            public NDArray lossSum(List<Integer> items, NDManager step) {
                List<TokenBatches.Encoded> examples = items.stream().map(train::get).toList();
                TokenBatches.Batch batch = TokenBatches.batch(examples, TokenBatches.length(examples), step, dtype);
                return CausalLm.nllSum(model.logits(batch.inputs(), adapter, step), batch.targets(), batch.mask());
            }

            @Override
            public double evalLoss() {
                return eval.isEmpty() ? Double.NaN : meanNll(model, adapter, eval, Math.max(8, optimization.batchSize()), manager, dtype);
            }
        }, listener);
    }

    /**
     * Trains on preference pairs with the DPO loss at strength {@code beta}; the reference policy is
     * the adapter as it starts (its log-probabilities are computed once, before the first step).
     * Losses in the result are mean DPO losses per pair.
     */
    public Result trainPreferences(List<PreferenceExample> trainData, List<PreferenceExample> evalData, double beta, Listener listener) {
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new InvalidRequestException("beta must be a positive number");
        }
        List<TokenBatches.Pair> train = TokenBatches.encodePairs(trainData, tokenizer, eos, contextLength);
        List<TokenBatches.Pair> eval = TokenBatches.encodePairs(evalData, tokenizer, eos, contextLength);
        if (train.isEmpty()) {
            throw new InvalidRequestException("no preference pair leaves completion tokens within the context");
        }
        double[] trainReference = margins(train);
        double[] evalReference = margins(eval);
        return optimize(new Objective() {
            @Override
            public int size() {
                return train.size();
            }

            @Override
            public double weight(List<Integer> items) {
                return items.size();
            }

            @Override
            public NDArray lossSum(List<Integer> items, NDManager step) {
                List<TokenBatches.Pair> pairs = items.stream().map(train::get).toList();
                double[] reference = items.stream().mapToDouble(i -> trainReference[i]).toArray();
                return dpoSum(pairs, reference, beta, step);
            }

            @Override
            public double evalLoss() {
                if (eval.isEmpty()) {
                    return Double.NaN;
                }
                double total = 0;
                int batch = Math.max(4, optimization.batchSize());
                for (int from = 0; from < eval.size(); from += batch) {
                    int to = Math.min(eval.size(), from + batch);
                    try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                        total += dpoSum(eval.subList(from, to), java.util.Arrays.copyOfRange(evalReference, from, to), beta, step)
                                .toType(DataType.FLOAT64, false).getDouble();
                    }
                }
                return total / eval.size();
            }
        }, listener);
    }

    /** Summed DPO loss of {@code pairs}: chosen rows then rejected rows in one forward. */
    private NDArray dpoSum(List<TokenBatches.Pair> pairs, double[] referenceMargin, double beta, NDManager step) {
        NDArray logp = sequenceLogProbs(pairs, step);
        int n = pairs.size();
        NDArray chosen = logp.get("0:" + n);
        NDArray rejected = logp.get(n + ":");
        return DpoLoss.sum(chosen, rejected, step.create(referenceMargin).toType(dtype, false), beta);
    }

    /** [2n]: the summed completion log-probability of every pair's chosen, then every pair's rejected sequence. */
    private NDArray sequenceLogProbs(List<TokenBatches.Pair> pairs, NDManager step) {
        List<TokenBatches.Encoded> rows = new ArrayList<>();
        pairs.forEach(p -> rows.add(p.chosen()));
        pairs.forEach(p -> rows.add(p.rejected()));
        TokenBatches.Batch batch = TokenBatches.batch(rows, TokenBatches.length(rows), step, dtype);
        return CausalLm.sequenceLogProbs(model.logits(batch.inputs(), adapter, step), batch.targets(), batch.mask());
    }

    /** log π(chosen) − log π(rejected) per pair under the adapter as it is now (the reference, before training). */
    private double[] margins(List<TokenBatches.Pair> pairs) {
        double[] out = new double[pairs.size()];
        int batch = Math.max(4, optimization.batchSize());
        for (int from = 0; from < pairs.size(); from += batch) {
            int to = Math.min(pairs.size(), from + batch);
            try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                double[] logp = sequenceLogProbs(pairs.subList(from, to), step).toType(DataType.FLOAT64, false).toDoubleArray();
                for (int i = from; i < to; i++) {
                    out[i] = logp[i - from] - logp[i - from + (to - from)];
                }
            }
        }
        return out;
    }

    /** What one training method contributes: items to draw batches from, and a loss over them. */
    private interface Objective {
        int size();

        /** What a micro-batch's loss sum is divided by: completion tokens, or pairs. */
        double weight(List<Integer> items);

        /** The micro-batch's summed loss (autograd records it). */
        NDArray lossSum(List<Integer> items, NDManager step);

        double evalLoss();
    }

    /** AdamW over the objective: shuffled epochs, accumulation, clipping, held-out evaluation and checkpoints. */
    private Result optimize(Objective objective, Listener listener) {
        AdamW optimizer = new AdamW(adapter.parameters(), adapter::decayed, optimization.learningRate(), optimization.weightDecay(),
                optimization.warmupSteps(), run.steps(), optimization.decay(), optimization.maxGradNorm());
        double initialEval = objective.evalLoss();
        Random random = new Random(run.seed());
        List<Integer> order = new ArrayList<>();
        int cursor = Integer.MAX_VALUE;
        double first = Double.NaN;
        double last = Double.NaN;
        long start = System.nanoTime();
        for (int step = 1; step <= run.steps(); step++) {
            List<List<Integer>> micro = new ArrayList<>();
            for (int k = 0; k < optimization.accumulation(); k++) {
                List<Integer> batch = new ArrayList<>();
                while (batch.size() < optimization.batchSize()) {
                    if (cursor >= order.size()) { // a new epoch in a new order
                        order.clear();
                        for (int i = 0; i < objective.size(); i++) {
                            order.add(i);
                        }
                        Collections.shuffle(order, random);
                        cursor = 0;
                    }
                    batch.add(order.get(cursor++));
                }
                micro.add(batch);
            }
            last = trainStep(objective, micro);
            first = step == 1 ? last : first;
            double gradientNorm = optimizer.step(step);
            listener.onStep(new Progress(step, run.steps(), last, optimizer.learningRate(step), gradientNorm));
            if (optimization.evalEvery() > 0 && step % optimization.evalEvery() == 0 && !Double.isNaN(initialEval)) {
                listener.onEval(step, objective.evalLoss());
            }
            if (optimization.checkpointEvery() > 0 && step % optimization.checkpointEvery() == 0 && step < run.steps()) {
                listener.onCheckpoint(step, adapter.snapshot(baseFingerprint));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Result(adapter.snapshot(baseFingerprint), initialEval, objective.evalLoss(), first, last, seconds,
                adapter.parameterCount(), run.steps());
    }

    /** Forward and backward over the micro-batches of one step; the loss is the step's sum over their weight. */
    private double trainStep(Objective objective, List<List<Integer>> micro) {
        double weight = micro.stream().mapToDouble(objective::weight).sum();
        double total = 0;
        for (List<Integer> items : micro) {
            // The scope also frees arrays that ops on long-lived operands (frozen weights, adapter
            // parameters) create in those operands' managers, e.g. SQFT's merged weights.
            try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = objective.lossSum(items, step).div(weight);
                    collector.backward(loss);
                    total += loss.toType(DataType.FLOAT64, false).getDouble();
                }
            }
        }
        return total;
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

    /**
     * Mean over {@code pairs} of log π(chosen) − log π(rejected) (summed over completion tokens)
     * under the base with {@code adapter} (null: the base alone): how much more likely the preferred
     * answers are than the others.
     */
    public static double preferenceMargin(DenseParameters base, Supplier<FrozenLinears> frozen, Tokenizer tokenizer, int eos,
            Adapter adapter, List<PreferenceExample> pairs, NDManager parent) {
        ModelConfig c = base.config();
        try (NDManager manager = parent.newSubManager(); CausalLm model = new CausalLm(base, c.maxPositions(), manager, DataType.FLOAT32)) {
            TrainableAdapter adapted = adapter == null
                    ? TrainableAdapter.none(c, manager)
                    : new TrainableAdapter(c, adapter.kind(), adapter.targets(), adapter, frozen, manager, DataType.FLOAT32, 0);
            List<TokenBatches.Pair> encoded = TokenBatches.encodePairs(pairs, tokenizer, eos, c.maxPositions());
            double total = 0;
            for (TokenBatches.Pair p : encoded) {
                try (NDScope scope = new NDScope(); NDManager step = manager.newSubManager()) {
                    List<TokenBatches.Encoded> rows = List.of(p.chosen(), p.rejected());
                    TokenBatches.Batch batch = TokenBatches.batch(rows, TokenBatches.length(rows), step, DataType.FLOAT32);
                    double[] logp = CausalLm.sequenceLogProbs(model.logits(batch.inputs(), adapted, step), batch.targets(), batch.mask())
                            .toType(DataType.FLOAT64, false).toDoubleArray();
                    total += logp[0] - logp[1];
                }
            }
            return total / encoded.size();
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
