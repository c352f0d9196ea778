package io.tune4j.train;

import io.tune4j.data.Batch;
import io.tune4j.data.BatchSource;
import io.tune4j.model.LlamaModel;
import io.tune4j.model.Parameter;
import io.tune4j.model.TrainingContext;
import io.tune4j.ops.LossSum;
import io.tune4j.ops.MatmulPrecision;
import io.tune4j.ops.Ops;
import io.tune4j.peft.FineTuneMethod;
import io.tune4j.runtime.NativeLib;
import io.tune4j.ops.PreferenceLosses;
import io.tune4j.train.objective.MethodOffReference;
import io.tune4j.train.objective.PrecomputedReference;
import io.tune4j.train.objective.PreferenceObjective;
import io.tune4j.train.objective.PreferenceStep;
import io.tune4j.train.objective.ReferenceModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The training loop: micro-batches through forward/backward with the loss averaged over every
 * target token of an accumulation window, global-norm clipping, AdamW, a learning-rate schedule,
 * validation with early stopping, atomic checkpoints that resume bit for bit, metrics.jsonl,
 * loss.png and progress on stderr.
 *
 * <pre>{@code
 * TrainResult r = Trainer.builder()
 *         .model(model).method(new LoraMethod(...)).train(trainBatches).validation(devBatches)
 *         .config(TrainConfig.load(Path.of("train.yaml"))).outputDir(Path.of("runs/lora"))
 *         .build().run();
 * }</pre>
 *
 * The trainer attaches the method to the model; it owns neither and closes neither. Outputs:
 * {@code outDir/config.yaml}, {@code metrics.jsonl}, {@code loss.png}, {@code checkpoints/step-N/}
 * and, unless cancelled, the method's deployable result in {@code outDir/final/}.
 */
public final class Trainer {
    private final LlamaModel model;
    private final FineTuneMethod method;
    private final BatchSource train;
    private final BatchSource validation;
    private final Path outDir;
    private final List<TrainingListener> listeners;
    private final Path resumeFrom;
    private final CheckpointStore.WriteHook checkpointHook;
    private final TrainConfig config;
    private final CheckpointStore.Checkpoint resumed;
    private final int totalSteps;
    private volatile boolean cancelled;
    private boolean ran;

    private Trainer(Builder b) {
        model = Objects.requireNonNull(b.model, "model");
        method = Objects.requireNonNull(b.method, "method");
        train = Objects.requireNonNull(b.train, "train batch source");
        validation = b.validation;
        outDir = Objects.requireNonNull(b.outputDir, "outputDir");
        listeners = List.copyOf(b.listeners);
        checkpointHook = b.checkpointHook;
        Path from = b.resumeFrom;
        if (b.resumeLatest && from == null) {
            from = new CheckpointStore(outDir.resolve("checkpoints"), 0, null).latest().orElse(null);
        }
        resumeFrom = from;
        resumed = from == null ? null : CheckpointStore.read(from);
        TrainConfig c = b.config != null ? b.config : resumed != null ? resumed.config() : null;
        if (c == null) throw new IllegalArgumentException("no training configuration given (and nothing to resume from)");
        config = c;
        checkShape("training", train, c);
        if (train.batchesPerEpoch() < 1) throw new IllegalArgumentException("the training data yields no batches");
        if (validation != null && validation.batchesPerEpoch() < 1) {
            throw new IllegalArgumentException("the validation data yields no batches");
        }
        totalSteps = c.maxSteps() > 0 ? c.maxSteps()
                : Math.max(1, (int) Math.min(Integer.MAX_VALUE,
                        (long) c.epochs() * train.batchesPerEpoch() / c.gradAccumSteps()));
        if (resumed != null && resumed.state().step() > totalSteps) {
            throw new IllegalArgumentException(from + ": checkpoint is at step " + resumed.state().step()
                    + ", beyond the run's " + totalSteps + " steps");
        }
    }

    private static void checkShape(String what, BatchSource s, TrainConfig c) {
        if (c.batchSize() > 0 && c.batchSize() != s.batchSize()) {
            throw new IllegalArgumentException("batchSize: configured " + c.batchSize() + " but the " + what
                    + " data yields batches of " + s.batchSize());
        }
        if (c.seqLen() > 0 && c.seqLen() != s.seqLen()) {
            throw new IllegalArgumentException("seqLen: configured " + c.seqLen() + " but the " + what
                    + " data yields sequences of " + s.seqLen());
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public TrainConfig config() {
        return config;
    }

    public int totalSteps() {
        return totalSteps;
    }

    public Path outputDir() {
        return outDir;
    }

    /** Asks the run to stop before its next step (callable from any thread). */
    public void cancel() {
        cancelled = true;
    }

    /** Runs (or, when built to resume, continues) the training to its end. A trainer runs once. */
    public TrainResult run() {
        if (ran) throw new IllegalStateException("a Trainer runs once; build another");
        ran = true;
        int previousThreads = NativeLib.t4j_get_num_threads();
        if (config.threads() > 0) NativeLib.t4j_set_num_threads(config.threads());
        Ops ops = model.ops();
        MatmulPrecision previousPrecision = ops.matmulPrecision();
        MatmulPrecision precision = ops.setMatmulPrecision(config.precision());
        if (precision != config.precision()) {
            System.err.println("tune4j: " + config.precision().id() + " matrix products are not available on " + ops.name()
                    + " here (the CPU needs AMX-BF16 or AVX512-BF16); training in " + precision.id());
        }
        try {
            return loop();
        } finally {
            ops.setMatmulPrecision(previousPrecision);
            if (config.threads() > 0) NativeLib.t4j_set_num_threads(previousThreads);
        }
    }

    /** The mutable position of the loop. */
    private static final class Position {
        int step, epoch, index, evalsWithoutImprovement;
        long rng, tokens;
        Double best;
        Integer bestStep;
        double elapsedBefore;
    }

    private TrainResult loop() {
        Ops ops = model.ops();
        method.attach(model);
        List<Parameter> params = method.trainableParameters();
        if (params.isEmpty()) throw new IllegalStateException("fine-tuning method '" + method.name() + "' trains no parameters");
        LrSchedule schedule = LrSchedule.of(config, totalSteps);
        CheckpointStore store = new CheckpointStore(outDir.resolve("checkpoints"), config.keepCheckpoints(), checkpointHook);
        boolean keepBest = validation != null && config.select() == TrainConfig.Select.BEST;
        BestWeights bestWeights = new BestWeights(outDir, ops);
        int evalInterval = config.evalInterval(totalSteps);
        Position pos = new Position();
        List<StepMetrics> history = new ArrayList<>();
        try (AdamW opt = AdamW.of(ops, params, config);
             TrainingContext ctx = model.newTrainingContext(train.batchSize(), train.seqLen(), config.gradientCheckpointing());
             LossSum stepLoss = ops.newLossSum();
             Evaluator eval = new Evaluator(ctx)) {
            PreferenceStep pref = config.objective().preference() ? preferenceStep(ctx) : null;
            eval.preference = pref;
            pos.rng = config.seed();
            if (resumed != null) {
                CheckpointStore.restore(resumeFrom, opt);
                TrainState s = resumed.state();
                pos.step = s.step();
                pos.epoch = s.epoch();
                pos.index = s.batchIndex();
                pos.rng = s.rngState();
                pos.best = s.bestValLoss();
                pos.evalsWithoutImprovement = s.evalsWithoutImprovement();
                pos.bestStep = s.bestStep();
                pos.elapsedBefore = s.elapsedSeconds();
                pos.tokens = s.tokensSeen();
                for (StepMetrics m : resumed.metrics()) if (m.step() <= pos.step) history.add(m);
            }
            createDirectories(outDir);
            // a fresh run in a used directory must never restore an older run's best weights
            if (resumed == null) bestWeights.delete();
            config.save(outDir.resolve("config.yaml"));
            opt.zeroGrad();
            int startStep = pos.step;
            int lastCheckpoint = resumed != null ? startStep : -1;
            for (TrainingListener l : listeners) l.onStart(config, startStep, totalSteps);
            TrainResult.Status status = TrainResult.Status.COMPLETED;
            long runStart = System.nanoTime();
            try (MetricsLog log = new MetricsLog(outDir.resolve("metrics.jsonl"), history)) {
                while (pos.step < totalSteps) {
                    if (cancelRequested()) {
                        status = TrainResult.Status.CANCELLED;
                        break;
                    }
                    long t0 = System.nanoTime();
                    Batch[] window = new Batch[config.gradAccumSteps()];
                    long targets = 0;
                    for (int i = 0; i < window.length; i++) {
                        window[i] = train.batch(pos.epoch, pos.index);
                        targets += window[i].targetCount();
                        if (++pos.index == train.batchesPerEpoch()) {
                            pos.index = 0;
                            pos.epoch++;
                        }
                    }
                    PreferenceMetrics pm = null;
                    double lossSum = 0;
                    if (pref != null) {
                        // a preference loss is the mean over the window's pairs: one pair is one example
                        targets = 0;
                        for (Batch b : window) targets += PreferenceStep.countedPairs(b);
                        pm = new PreferenceMetrics();
                        for (Batch b : window) {
                            pos.rng = SplitMix.next(pos.rng);
                            if (targets == 0) continue;
                            pm.add(pref.train(ctx, b, 1.0 / targets));
                        }
                        lossSum = pm.loss;
                    } else {
                        // the loss is the mean over every target token of the window, not a mean of means
                        float scale = targets == 0 ? 0f : (float) (1.0 / targets);
                        for (Batch b : window) {
                            pos.rng = SplitMix.next(pos.rng);
                            if (scale == 0) continue;
                            method.beforeForward();
                            ctx.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
                            model.forwardBackward(ctx, scale, stepLoss);
                            method.afterBackward();
                        }
                        // the window's one read of its loss
                        lossSum = stepLoss.take()[0];
                    }
                    double loss = targets == 0 ? Double.NaN : lossSum / targets;
                    double gradNorm = GradientClipping.clip(ops, params, config.maxGradNorm());
                    double lr = schedule.lr(pos.step);
                    // a window without targets carries no gradient; stepping would only apply decay
                    if (targets > 0) opt.step(lr);
                    opt.zeroGrad();
                    pos.step++;
                    long stepTokens = (long) window.length * train.batchSize() * train.seqLen();
                    pos.tokens += stepTokens;
                    double stepSeconds = (System.nanoTime() - t0) / 1e9;

                    Double valLoss = null;
                    Double valAccuracy = null;
                    boolean stop = false;
                    boolean evalNow = validation != null && (pos.step == totalSteps || pos.step % evalInterval == 0);
                    if (evalNow) {
                        EvalResult r = eval.run(pos);
                        valLoss = r.loss();
                        valAccuracy = eval.lastAccuracy;
                        // before the checkpoint of this step: a run resumed from it finds these weights
                        if (r.improved() && keepBest) bestWeights.save(pos.step, r.loss(), params);
                        for (TrainingListener l : listeners) l.onEval(r);
                        stop = config.earlyStoppingPatience() > 0
                                && r.evalsWithoutImprovement() >= config.earlyStoppingPatience();
                    }
                    double elapsed = pos.elapsedBefore + (System.nanoTime() - runStart) / 1e9;
                    StepMetrics m = new StepMetrics(pos.step, pos.epoch + (double) pos.index / train.batchesPerEpoch(),
                            loss, lr, gradNorm, stepTokens / Math.max(stepSeconds, 1e-9), elapsed, valLoss,
                            pm == null ? null : pm.mean(pm.margin), pm == null ? null : pm.mean(pm.correct),
                            pm == null ? null : pm.mean(pm.chosen), pm == null ? null : pm.mean(pm.rejected), valAccuracy);
                    history.add(m);
                    log.append(m);
                    for (TrainingListener l : listeners) l.onStep(m);
                    if (config.checkpointEvery() > 0 && pos.step % config.checkpointEvery() == 0) {
                        checkpoint(store, pos, opt, history, runStart);
                        lastCheckpoint = pos.step;
                    }
                    if (evalNow) plot(history);
                    if (stop) {
                        status = TrainResult.Status.EARLY_STOPPED;
                        break;
                    }
                }
            }
            // a final checkpoint lets a cancelled run, or one given more steps later, continue
            if (config.checkpointEvery() > 0 && pos.step != lastCheckpoint && pos.step > startStep) {
                checkpoint(store, pos, opt, history, runStart);
            }
            plot(history);
            Path finalDir = null;
            int kept = pos.step;
            if (status != TrainResult.Status.CANCELLED) {
                if (keepBest && pos.bestStep != null && pos.bestStep != pos.step) {
                    // the copy can lag the checkpoint (killed between an improving validation and the next
                    // checkpoint, or resumed from a --select last run): keep the last step, and say so
                    String problem = bestWeights.restore(pos.bestStep, params);
                    if (problem == null) {
                        kept = pos.bestStep;
                    } else {
                        System.err.println("tune4j: warning: keeping the last step (" + pos.step + "), not the best ("
                                + pos.bestStep + "): " + problem);
                    }
                }
                finalDir = outDir.resolve("final");
                method.save(finalDir);
                // only a resumed run reads the copy again, and without checkpoints there is nothing to resume
                if (config.checkpointEvery() <= 0) bestWeights.delete();
            }
            double lastLoss = history.isEmpty() ? Double.NaN : history.get(history.size() - 1).loss();
            boolean lastValidated = !history.isEmpty() && history.get(history.size() - 1).valLoss() != null;
            TrainResult result = new TrainResult(status, pos.step, lastLoss,
                    pos.best == null ? Double.NaN : pos.best, finalDir, kept,
                    lastValidated ? history.get(history.size() - 1).valLoss() : Double.NaN);
            for (TrainingListener l : listeners) l.onFinish(result);
            return result;
        }
    }

    /**
     * The preference step of this run. A method that can be switched off is its own reference; a full
     * fine-tune's reference log-probabilities are computed from the initial weights before the first step.
     */
    private PreferenceStep preferenceStep(TrainingContext ctx) {
        PreferenceObjective objective = PreferenceObjective.of(config);
        if (train.batchSize() % 2 != 0 || (validation != null && validation.batchSize() % 2 != 0)) {
            throw new IllegalArgumentException(config.objective().id() + ": batches hold (chosen, rejected) row pairs; "
                    + "the batch size must be even");
        }
        ReferenceModel reference = null;
        if (objective.needsReference()) {
            if (method.canDisable()) {
                reference = new MethodOffReference(model, method);
            } else {
                if (resumed != null) {
                    throw new IllegalArgumentException(config.objective().id() + " with method '" + method.name()
                            + "' cannot resume: its reference is the initial weights, which the checkpoint no longer has");
                }
                method.setTraining(false);
                try {
                    PrecomputedReference ref = PrecomputedReference.compute(model, ctx, train);
                    if (validation != null) {
                        try (TrainingContext vc = model.newTrainingContext(validation.batchSize(), validation.seqLen(),
                                config.gradientCheckpointing())) {
                            ref = ref.plus(PrecomputedReference.compute(model, vc, validation));
                        }
                    }
                    reference = ref;
                } finally {
                    method.setTraining(true);
                }
            }
        }
        return new PreferenceStep(model, method, objective, reference);
    }

    /** The sums of a step's preference results, for the step's metrics. */
    private static final class PreferenceMetrics {
        double loss, margin, correct, chosen, rejected;
        long pairs;

        void add(PreferenceLosses.Result r) {
            loss += r.lossSum();
            margin += r.marginSum();
            correct += r.correct();
            chosen += r.chosenLogpSum();
            rejected += r.rejectedLogpSum();
            pairs += r.pairs();
        }

        Double mean(double sum) {
            return pairs == 0 ? null : sum / pairs;
        }
    }

    private boolean cancelRequested() {
        if (cancelled) return true;
        for (TrainingListener l : listeners) if (l.cancelRequested()) return true;
        return false;
    }

    private void checkpoint(CheckpointStore store, Position pos, AdamW opt, List<StepMetrics> history, long runStart) {
        double elapsed = pos.elapsedBefore + (System.nanoTime() - runStart) / 1e9;
        TrainState s = new TrainState(pos.step, pos.epoch, pos.index, opt.stepCount(), pos.rng, pos.best,
                pos.evalsWithoutImprovement, elapsed, pos.tokens, pos.bestStep);
        Path dir = store.write(s, opt, config, history);
        for (TrainingListener l : listeners) l.onCheckpoint(pos.step, dir);
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(dir + ": cannot create the output directory: " + e.getMessage(), e);
        }
    }

    private boolean plotSkipped;

    // the plot only draws what metrics.jsonl holds: a jlink'd runtime without java.desktop (AWT, ImageIO)
    // trains on, saying so once. Asked here, since loading LossPlot itself needs AWT.
    private static final boolean CAN_PLOT = ModuleLayer.boot().findModule("java.desktop").isPresent();

    private void plot(List<StepMetrics> history) {
        if (CAN_PLOT) {
            LossPlot.write(outDir.resolve("loss.png"), history);
        } else if (!plotSkipped) {
            plotSkipped = true;
            System.err.println("tune4j: warning: loss.png is not drawn: this Java runtime has no java.desktop module"
                    + " (metrics.jsonl has the same losses)");
        }
    }

    /** Validation passes over the first evalBatches batches of epoch 0 of the validation data. */
    private final class Evaluator implements AutoCloseable {
        private final TrainingContext trainCtx;
        private TrainingContext own;
        PreferenceStep preference;
        Double lastAccuracy;

        private final LossSum evalLoss;  // every validation batch adds to it; read once an evaluation

        Evaluator(TrainingContext trainCtx) {
            this.trainCtx = trainCtx;
            this.evalLoss = model.ops().newLossSum();
        }

        EvalResult run(Position pos) {
            TrainingContext c = trainCtx;
            if (validation.batchSize() != trainCtx.B || validation.seqLen() != trainCtx.T) {
                if (own == null) {
                    own = model.newTrainingContext(validation.batchSize(), validation.seqLen(),
                            config.gradientCheckpointing());
                }
                c = own;
            }
            int n = config.evalBatches() > 0 ? Math.min(config.evalBatches(), validation.batchesPerEpoch())
                    : validation.batchesPerEpoch();
            double sum = 0;
            long count = 0;
            PreferenceMetrics pm = new PreferenceMetrics();
            // without dropout, as the kept model will be measured and served: otherwise selection follows noise
            method.setTraining(false);
            try {
                for (int i = 0; i < n && preference != null; i++) pm.add(preference.evaluate(c, validation.batch(0, i)));
                for (int i = 0; i < n && preference == null; i++) {
                    Batch b = validation.batch(0, i);
                    method.beforeForward();
                    c.setBatch(b.ids(), b.targets(), b.positions(), b.kvStart());
                    model.forward(c, evalLoss);
                }
                if (preference == null) {
                    double[] total = evalLoss.take();
                    sum = total[0];
                    count = (long) total[1];
                }
            } finally {
                method.setTraining(true);
            }
            if (preference != null) {
                sum = pm.loss;
                count = pm.pairs;
                lastAccuracy = pm.mean(pm.correct);
            }
            double loss = count == 0 ? Double.NaN : sum / count;
            boolean improved = pos.best == null || loss < pos.best;
            if (improved) {
                pos.best = loss;
                pos.bestStep = pos.step;
                pos.evalsWithoutImprovement = 0;
            } else {
                pos.evalsWithoutImprovement++;
            }
            return new EvalResult(pos.step, loss, count, improved, pos.evalsWithoutImprovement);
        }

        @Override
        public void close() {
            if (own != null) own.close();
            evalLoss.close();
        }
    }

    /** Builds a {@link Trainer}; model, method, train, outputDir and config (or a checkpoint) are required. */
    public static final class Builder {
        private LlamaModel model;
        private FineTuneMethod method;
        private BatchSource train;
        private BatchSource validation;
        private TrainConfig config;
        private Path outputDir;
        private final List<TrainingListener> listeners = new ArrayList<>();
        private boolean progress = true;
        private Path resumeFrom;
        private boolean resumeLatest;
        private CheckpointStore.WriteHook checkpointHook;

        private Builder() {}

        public Builder model(LlamaModel m) { model = m; return this; }
        public Builder method(FineTuneMethod m) { method = m; return this; }
        public Builder train(BatchSource s) { train = s; return this; }
        public Builder validation(BatchSource s) { validation = s; return this; }
        /** The run's configuration; when resuming without one, the checkpoint's is used. */
        public Builder config(TrainConfig c) { config = c; return this; }
        public Builder outputDir(Path dir) { outputDir = dir; return this; }
        public Builder listener(TrainingListener l) { listeners.add(Objects.requireNonNull(l)); return this; }
        /** Progress bar / log lines on stderr (on by default). */
        public Builder progress(boolean on) { progress = on; return this; }
        /** Continues from a checkpoint directory ({@code outDir/checkpoints/step-N}). */
        public Builder resumeFrom(Path checkpointDir) { resumeFrom = checkpointDir; return this; }
        /** Continues from the newest checkpoint in the output directory, if there is one. */
        public Builder resumeLatest() { resumeLatest = true; return this; }

        Builder checkpointWriteHook(CheckpointStore.WriteHook h) { checkpointHook = h; return this; }

        public Trainer build() {
            if (progress) listeners.add(0, new ConsoleProgress());
            return new Trainer(this);
        }
    }
}
